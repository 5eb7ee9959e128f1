"""generate() on RNN models: the recurrent cache is exact, beam search is live and scored right, batching is
invisible."""

import pytest
import torch

from hf_attention_zoo.models.transformers_compat import output_cache
from support.rnn_fixtures import padded_batch, tiny_model

from hf_attention_zoo import RNNDecoderCache

SETUPS = {
    "bahdanau-gru-additive": dict(cell_type="gru", attention_type="additive", attention_wiring="bahdanau"),
    "luong-lstm-general-feed": dict(cell_type="lstm", attention_type="general", attention_wiring="luong",
                                    input_feeding=True),
    "luong-rnn-dot": dict(cell_type="rnn", attention_type="dot", attention_wiring="luong"),
    "context-vector-lstm": dict(cell_type="lstm", attention_type="none", attention_wiring="bahdanau"),
}


def generate(model, input_ids, attention_mask, **kwargs):
    kwargs.setdefault("max_new_tokens", 8)
    return model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)


@pytest.fixture(params=sorted(SETUPS))
def model(request):
    return tiny_model(**SETUPS[request.param])


@pytest.mark.parametrize("cache_argument", ["cache", "past_key_values"])  # 5.24+ name, and the name up to 5.23
def test_incremental_decoding_from_the_cache_equals_a_full_forward(model, cache_argument):
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 6))
    full = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits
    encoder_outputs = model.get_encoder()(input_ids, attention_mask)
    cache, steps = None, []
    for t in range(6):
        out = model(attention_mask=attention_mask, encoder_outputs=encoder_outputs, **{cache_argument: cache},
                    decoder_input_ids=decoder_input_ids[:, t : t + 1], use_cache=True)
        cache = output_cache(out)
        steps.append(out.logits)
    assert isinstance(cache, RNNDecoderCache) and cache.get_seq_length() == 6
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("num_beams", [1, 4])
def test_cached_generation_equals_uncached(model, num_beams):
    input_ids, attention_mask = padded_batch()
    kwargs = dict(num_beams=num_beams, output_scores=True, return_dict_in_generate=True)
    cached = generate(model, input_ids, attention_mask, **kwargs)
    uncached = generate(model, input_ids, attention_mask, use_cache=False, **kwargs)
    torch.testing.assert_close(cached.sequences, uncached.sequences)
    if num_beams > 1:
        torch.testing.assert_close(cached.sequences_scores, uncached.sequences_scores, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("num_beams", [1, 4])
def test_padded_batch_generates_what_each_row_generates_alone(model, num_beams):
    input_ids, attention_mask = padded_batch(lengths=(7, 4, 2, 6))
    batched = generate(model, input_ids, attention_mask, num_beams=num_beams)
    for row, length in enumerate(attention_mask.sum(1).tolist()):
        alone = generate(model, input_ids[row : row + 1, :length], attention_mask[row : row + 1, :length],
                         num_beams=num_beams)
        width = alone.shape[1]
        assert batched[row, :width].tolist() == alone[0].tolist()
        assert torch.all(batched[row, width:] == model.config.pad_token_id)


def test_beam_search_with_one_beam_equals_greedy(model):
    input_ids, attention_mask = padded_batch()
    greedy = generate(model, input_ids, attention_mask, do_sample=False)
    one_beam = generate(model, input_ids, attention_mask, num_beams=1, do_sample=False, length_penalty=0.5)
    torch.testing.assert_close(greedy, one_beam)


def teacher_forced_logprob_sums(model, input_ids, attention_mask, sequences):
    """Sum of log p(y_t | y_<t, x) over the generated tokens (up to and including the first eos), and their
    count, from one full forward pass."""
    sources = input_ids.repeat_interleave(sequences.shape[0] // input_ids.shape[0], dim=0)
    masks = attention_mask.repeat_interleave(sequences.shape[0] // input_ids.shape[0], dim=0)
    logits = model(input_ids=sources, attention_mask=masks, decoder_input_ids=sequences[:, :-1]).logits
    token_logprobs = logits.log_softmax(-1).gather(-1, sequences[:, 1:, None]).squeeze(-1)
    eos = model.config.eos_token_id
    after_eos = (sequences[:, 1:] == eos).long().cumsum(1) - (sequences[:, 1:] == eos).long() > 0
    keep = ~after_eos
    return (token_logprobs * keep).sum(1), keep.sum(1)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 2.0])
def test_beam_scores_equal_teacher_forced_log_probabilities(model, length_penalty):
    input_ids, attention_mask = padded_batch()
    out = generate(model, input_ids, attention_mask, num_beams=4, num_return_sequences=2,
                   length_penalty=length_penalty, output_scores=True, return_dict_in_generate=True)
    sums, lengths = teacher_forced_logprob_sums(model, input_ids, attention_mask, out.sequences)
    # transformers normalises by the number of generated tokens (eos included, decoder start token excluded).
    torch.testing.assert_close(out.sequences_scores, sums / lengths.float() ** length_penalty,
                               atol=1e-4, rtol=1e-4)


def test_a_reorder_cache_that_does_nothing_changes_beam_results(monkeypatch):
    """Proves beam search really goes through RNNDecoderCache.reorder_cache."""
    model = tiny_model(**SETUPS["luong-lstm-general-feed"])
    input_ids, attention_mask = padded_batch(seed=3, lengths=(7, 6, 5, 7, 4, 6))
    kwargs = dict(num_beams=5, max_new_tokens=10, output_scores=True, return_dict_in_generate=True)
    honest = generate(model, input_ids, attention_mask, **kwargs)
    monkeypatch.setattr(RNNDecoderCache, "reorder_cache", lambda self, beam_idx: None)
    broken = generate(model, input_ids, attention_mask, **kwargs)
    differs = (honest.sequences.shape != broken.sequences.shape or not torch.equal(honest.sequences, broken.sequences)
               or not torch.allclose(honest.sequences_scores, broken.sequences_scores))
    assert differs


def test_beam_options_and_transition_scores(model):
    input_ids, attention_mask = padded_batch()
    out = generate(model, input_ids, attention_mask, num_beams=4, num_return_sequences=3, no_repeat_ngram_size=2,
                   output_scores=True, return_dict_in_generate=True, length_penalty=1.0)
    assert out.sequences.shape[0] == 9
    for row in out.sequences.tolist():
        tokens = [t for t in row[1:] if t not in (model.config.pad_token_id,)]
        bigrams = list(zip(tokens, tokens[1:]))
        assert len(bigrams) == len(set(bigrams))
    transition = model.compute_transition_scores(out.sequences, out.scores, out.beam_indices, normalize_logits=False)
    assert transition.shape == (9, out.sequences.shape[1] - 1)
    lengths = (transition < 0).sum(1)
    torch.testing.assert_close(transition.sum(1) / lengths.float(), out.sequences_scores, atol=1e-4, rtol=1e-4)


def test_sampling_is_reproducible_with_a_seed_and_varies_without(model):
    input_ids, attention_mask = padded_batch()
    torch.manual_seed(1)
    first = generate(model, input_ids, attention_mask, do_sample=True, top_k=20, temperature=1.5)
    torch.manual_seed(1)
    again = generate(model, input_ids, attention_mask, do_sample=True, top_k=20, temperature=1.5)
    torch.testing.assert_close(first, again)
    draws = {tuple(generate(model, input_ids, attention_mask, do_sample=True, temperature=2.0)[0].tolist())
             for _ in range(5)}
    assert len(draws) > 1


def test_generate_returns_alignment_weights_per_step():
    model = tiny_model(**SETUPS["bahdanau-gru-additive"])
    input_ids, attention_mask = padded_batch()
    out = generate(model, input_ids, attention_mask, output_attentions=True, return_dict_in_generate=True,
                   max_new_tokens=4, min_new_tokens=4)
    assert len(out.cross_attentions) == 4
    assert out.cross_attentions[0][0].shape == (3, 1, 1, 7)
    weights = torch.cat([step[0] for step in out.cross_attentions], dim=2)
    assert torch.all(weights[2, :, :, 3:] == 0)  # row 2 has 3 real tokens
