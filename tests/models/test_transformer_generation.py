"""generate() with the Transformer: the KV cache changes nothing, beam scores are the model's log-probabilities,
batching changes nothing, one beam is greedy, and the §6.1 defaults run without warnings."""

import warnings

import pytest
import torch
from torch.testing import assert_close

from hf_attention_zoo.models.transformers_compat import output_cache
from support.transformer_fixtures import BOS, EOS, PAD, POSITION_TYPES, eos_prone_model, source_batch, tiny_model

MAX_NEW_TOKENS = 8


def _generate(model, input_ids, attention_mask, **options):
    with torch.no_grad():
        return model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=MAX_NEW_TOKENS,
                              **options)


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("position_type", POSITION_TYPES)
@pytest.mark.parametrize("cache_argument", ["cache", "past_key_values"])  # 5.24+ name, and the name up to 5.23
def test_incremental_decoding_with_the_cache_equals_the_full_forward(position_type, attn_implementation, cache_argument):
    model = tiny_model(position_embedding_type=position_type, attn_implementation=attn_implementation)
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.cat([torch.full((3, 1), BOS), torch.randint(3, 99, (3, 5))], dim=1)
    cross_projections = []
    for layer in model.model.decoder.layers:
        layer.encoder_attn.kv_proj.register_forward_hook(lambda *_: cross_projections.append(1))
    with torch.no_grad():
        encoder_outputs = model.get_encoder()(input_ids, attention_mask)
        full = model(attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                     encoder_outputs=encoder_outputs).logits
        cache, steps = None, []
        for position in range(decoder_input_ids.shape[1]):
            outputs = model(attention_mask=attention_mask, encoder_outputs=encoder_outputs,
                            decoder_input_ids=decoder_input_ids[:, position:position + 1],
                            **{cache_argument: cache}, use_cache=True)
            cache = output_cache(outputs)
            steps.append(outputs.logits)
    assert_close(torch.cat(steps, dim=1), full)
    assert cache.get_seq_length() == decoder_input_ids.shape[1]
    # The encoder's keys/values were projected once per layer for the full forward and once for all the steps.
    assert len(cross_projections) == 2 * len(model.model.decoder.layers)


@pytest.mark.parametrize("num_beams", [1, 3])
@pytest.mark.parametrize("position_type", POSITION_TYPES)
def test_cached_and_uncached_generation_agree(position_type, num_beams):
    model = eos_prone_model(position_embedding_type=position_type)
    input_ids, attention_mask = source_batch()
    cached = _generate(model, input_ids, attention_mask, num_beams=num_beams)
    uncached = _generate(model, input_ids, attention_mask, num_beams=num_beams, use_cache=False)
    assert torch.equal(cached, uncached)


def _manual_greedy(model, input_ids, attention_mask):
    """Argmax decoding with a full forward per step (no cache), stopping rows at EOS and padding them after it."""
    sequences = torch.full((input_ids.shape[0], 1), BOS)
    finished = torch.zeros(input_ids.shape[0], dtype=torch.bool)
    with torch.no_grad():
        for _ in range(MAX_NEW_TOKENS):
            logits = model(input_ids, attention_mask, sequences, use_cache=False).logits[:, -1]
            next_tokens = logits.argmax(-1).masked_fill(finished, PAD)
            sequences = torch.cat([sequences, next_tokens[:, None]], dim=1)
            finished |= next_tokens == EOS
            if finished.all():
                break
    return sequences


def test_beam_search_with_one_beam_equals_greedy_decoding():
    model = eos_prone_model(position_embedding_type="relative")
    input_ids, attention_mask = source_batch()
    assert torch.equal(_generate(model, input_ids, attention_mask, num_beams=1),
                       _manual_greedy(model, input_ids, attention_mask))


@pytest.mark.parametrize("position_type", POSITION_TYPES)
def test_beam_scores_are_the_length_penalised_teacher_forced_log_probs(position_type):
    model = eos_prone_model(position_embedding_type=position_type)
    input_ids, attention_mask = source_batch()
    length_penalty = 0.6
    outputs = _generate(model, input_ids, attention_mask, num_beams=3, num_return_sequences=2,
                        length_penalty=length_penalty, output_scores=True, return_dict_in_generate=True)
    sequences = outputs.sequences  # (batch * 2, 1 + generated), BOS first, PAD after EOS
    with torch.no_grad():
        logits = model(input_ids.repeat_interleave(2, 0), attention_mask.repeat_interleave(2, 0),
                       sequences[:, :-1]).logits
    token_log_probs = logits.log_softmax(-1).gather(-1, sequences[:, 1:, None])[..., 0]
    # Count the generated tokens up to and including the first EOS; what follows is padding.
    after_eos = (sequences[:, 1:] == EOS).long().cumsum(dim=1) - (sequences[:, 1:] == EOS).long() > 0
    counted = ~after_eos
    lengths = counted.sum(dim=1)
    expected = (token_log_probs * counted).sum(dim=1) / lengths**length_penalty
    assert_close(outputs.sequences_scores, expected, rtol=1e-4, atol=1e-4)
    assert (lengths < MAX_NEW_TOKENS).any(), "no hypothesis ended early with EOS: padding went untested"


@pytest.mark.parametrize("num_beams", [1, 3])
@pytest.mark.parametrize("position_type", ["sinusoidal", "relative"])
def test_padded_batch_generates_the_same_as_rows_one_by_one(position_type, num_beams):
    model = eos_prone_model(position_embedding_type=position_type)
    input_ids, attention_mask = source_batch()
    batched = _generate(model, input_ids, attention_mask, num_beams=num_beams)
    assert (batched[:, 1:] == PAD).any(), "no row ended early: padding after EOS went untested"
    for row in range(input_ids.shape[0]):
        length = int(attention_mask[row].sum())
        single = _generate(model, input_ids[row:row + 1, :length], attention_mask[row:row + 1, :length],
                           num_beams=num_beams)[0]
        assert torch.equal(batched[row, :single.shape[0]], single)
        assert torch.all(batched[row, single.shape[0]:] == PAD)


def test_generate_uses_the_paper_decoding_defaults_without_warnings(caplog):
    model = tiny_model(max_position_embeddings=10)
    assert (model.generation_config.num_beams, model.generation_config.length_penalty) == (4, 0.6)
    assert model.generation_config.max_length == 10  # the learned position table's limit
    input_ids, attention_mask = source_batch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            sequences = model.generate(input_ids=input_ids, attention_mask=attention_mask)
    assert sequences.shape[0] == 3 and sequences.shape[1] <= 10
    assert not [record for record in caplog.records if record.levelname == "WARNING"]


def test_learned_positions_generate_up_to_the_table_size():
    model = tiny_model(position_embedding_type="learned", max_position_embeddings=6)
    input_ids, attention_mask = source_batch(length=6)
    with torch.no_grad():
        sequences = model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=2)
    assert sequences.shape[1] <= 6


def test_beam_search_reorders_only_the_self_attention_cache_and_loses_nothing(monkeypatch):
    from hf_attention_zoo import TransformerSeq2SeqForConditionalGeneration as Model

    model = eos_prone_model()
    input_ids, attention_mask = source_batch()
    lean = _generate(model, input_ids, attention_mask, num_beams=3)

    def reorder_everything(self, past_key_values, beam_idx):
        past_key_values.reorder_cache(beam_idx)  # self- and cross-attention caches
        return past_key_values

    monkeypatch.setattr(Model, "_reorder_cache", reorder_everything)
    assert torch.equal(_generate(model, input_ids, attention_mask, num_beams=3), lean)
    # The hook is live: a reorder that does nothing changes the beams.
    monkeypatch.setattr(Model, "_reorder_cache", lambda self, past_key_values, beam_idx: past_key_values)
    assert not torch.equal(_generate(model, input_ids, attention_mask, num_beams=3), lean)
