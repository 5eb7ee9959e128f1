"""generate() on RNN models, beyond the shared equivalences of test_equivalences.py: the beam-reorder hook is live,
beam options and transition scores, seeded sampling, alignment weights per step."""

import pytest
import torch

from support.families import RNN_VARIANTS
from support.rnn_fixtures import padded_batch, tiny_model

from hf_attention_zoo import RNNDecoderCache

SETUPS = RNN_VARIANTS


def generate(model, input_ids, attention_mask, **kwargs):
    kwargs.setdefault("max_new_tokens", 8)
    return model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)


@pytest.fixture(params=sorted(SETUPS))
def model(request):
    return tiny_model(**SETUPS[request.param])


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
