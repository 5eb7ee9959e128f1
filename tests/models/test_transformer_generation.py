"""generate() with the Transformer, beyond the shared equivalences of test_equivalences.py: greedy equals a manual
argmax loop, the §6.1 defaults run without warnings, learned positions stop at their table, and beam search
reorders only the self-attention cache."""

import warnings

import torch

from support.transformer_fixtures import BOS, EOS, PAD, eos_prone_model, source_batch, tiny_model

MAX_NEW_TOKENS = 8


def _generate(model, input_ids, attention_mask, **options):
    with torch.no_grad():
        return model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=MAX_NEW_TOKENS,
                              **options)


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
