"""transformers_compat, the one seam between the models and transformers' cache naming (5.23: past_key_values;
5.24+: cache): either name works in forward(), both at once are refused, and outputs carry the cache under the name
the installed generate() reads."""

import warnings

import pytest
import torch
import transformers
from packaging.version import Version
from transformers.modeling_outputs import Seq2SeqLMOutput

from support import rnn_fixtures
from support import transformer_fixtures
from hf_attention_zoo.models.transformers_compat import OUTPUT_CACHE_NAME, cache_output, output_cache, resolve_cache_argument

NEW_NAME = Version(transformers.__version__) >= Version("5.24.0")


def test_the_output_name_is_the_one_the_installed_release_reads():
    assert OUTPUT_CACHE_NAME == ("cache" if NEW_NAME else "past_key_values")
    marker = object()
    assert output_cache(Seq2SeqLMOutput(logits=torch.zeros(1), **cache_output(marker))) is marker


def test_either_name_resolves_and_two_different_caches_are_refused():
    first, second = object(), object()
    assert resolve_cache_argument(first, None) is first
    assert resolve_cache_argument(None, None) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_cache_argument(None, first) is first
        assert resolve_cache_argument(first, first) is first
    # The old name warns only where transformers itself has deprecated it.
    assert any("`past_key_values` is deprecated" in str(w.message) for w in caught) == NEW_NAME
    with pytest.raises(ValueError, match="Got both `cache` and `past_key_values`"):
        resolve_cache_argument(first, second)


@pytest.mark.parametrize("fixtures", [rnn_fixtures, transformer_fixtures], ids=["rnn", "transformer"])
def test_generate_uses_the_cache_and_forward_receives_it_under_the_installed_name(fixtures, monkeypatch):
    """generate() hands the cache back to forward() at every step after the first, under the installed release's
    name: the seam is on the live path, not only in direct calls."""
    model = fixtures.tiny_model()
    received = []
    forward = type(model).forward

    def spy(self, *args, **kwargs):
        received.append({name for name in ("cache", "past_key_values") if kwargs.get(name) is not None})
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "forward", spy)
    input_ids, attention_mask = torch.tensor([[5, 6, 7, 2]]), torch.ones(1, 4, dtype=torch.long)
    model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=4, min_new_tokens=4,
                   num_beams=2)
    assert len(received) >= 4
    assert all(names == {"cache" if NEW_NAME else "past_key_values"} for names in received[1:])
