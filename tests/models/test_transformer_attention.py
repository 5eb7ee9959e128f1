"""transformer_attention: eq. 1, eager == SDPA, the decoder's causal mask, zero attention on padded source."""

import pytest
import torch
from torch.testing import assert_close

from hf_attention_zoo.models.transformer_attention import additive_attention_mask, eager_attention_forward
from support.transformer_fixtures import EOS, VARIANT_IDS, VARIANTS, source_batch, tiny_model


def test_eager_attention_is_equation_1():
    torch.manual_seed(0)
    query, key, value = torch.randn(2, 4, 5, 8), torch.randn(2, 4, 7, 8), torch.randn(2, 4, 7, 8)
    module = torch.nn.Module().eval()
    output, weights = eager_attention_forward(module, query, key, value, None, scaling=8**-0.5)
    expected_weights = torch.softmax(query @ key.transpose(-1, -2) / 8**0.5, dim=-1)
    assert_close(weights, expected_weights)
    assert_close(output, (expected_weights @ value).transpose(1, 2))
    assert_close(output, torch.nn.functional.scaled_dot_product_attention(query, key, value).transpose(1, 2))


def test_attention_mask_blocks_padding_and_the_future_without_nan():
    padding = torch.tensor([[1, 1, 0], [0, 0, 0]])  # the second row is all padding
    mask = additive_attention_mask(padding, 3, 3, True, torch.float32, torch.device("cpu"))
    assert mask.shape == (2, 1, 3, 3)
    allowed = mask == 0
    assert allowed[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, False]]
    weights = torch.softmax(torch.zeros(2, 1, 3, 3) + mask, dim=-1)
    assert torch.isfinite(weights).all()  # a fully masked row is uniform, not NaN
    assert additive_attention_mask(None, 3, 3, False, torch.float32, torch.device("cpu")) is None


def test_attention_mask_of_the_wrong_length_is_rejected():
    with pytest.raises(ValueError, match=r"covers 4 positions but there are 5 keys"):
        additive_attention_mask(torch.ones(1, 4), 1, 5, True, torch.float32, torch.device("cpu"))


@pytest.mark.parametrize("position_type, normalize_before", VARIANTS, ids=VARIANT_IDS)
def test_eager_and_sdpa_give_the_same_outputs(position_type, normalize_before):
    model = tiny_model(position_embedding_type=position_type, normalize_before=normalize_before)
    input_ids, attention_mask = source_batch()
    labels = torch.randint(3, 99, (3, 5))
    with torch.no_grad():
        eager = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        model.set_attn_implementation("sdpa")
        sdpa = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert_close(sdpa.logits, eager.logits)
    assert_close(sdpa.loss, eager.loss)


def test_output_attentions_under_sdpa_returns_the_eager_weights():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    with torch.no_grad():
        eager = model(input_ids, attention_mask, decoder_input_ids, output_attentions=True)
        model.set_attn_implementation("sdpa")
        sdpa = model(input_ids, attention_mask, decoder_input_ids, output_attentions=True)
    for name in ("encoder_attentions", "decoder_attentions", "cross_attentions"):
        assert len(getattr(sdpa, name)) == 2
        for eager_weights, sdpa_weights in zip(getattr(eager, name), getattr(sdpa, name)):
            assert_close(sdpa_weights, eager_weights)
    assert sdpa.encoder_attentions[0].shape == (3, 4, 7, 7)
    assert sdpa.decoder_attentions[0].shape == (3, 4, 4, 4)
    assert sdpa.cross_attentions[0].shape == (3, 4, 4, 7)


@pytest.mark.parametrize("position_type", ["sinusoidal", "learned", "relative"])
def test_changing_a_future_target_token_never_changes_earlier_decoder_outputs(position_type):
    model = tiny_model(position_embedding_type=position_type)
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 6))
    changed = decoder_input_ids.clone()
    changed[:, 4] = (changed[:, 4] + 1) % 99
    with torch.no_grad():
        logits = model(input_ids, attention_mask, decoder_input_ids).logits
        logits_changed = model(input_ids, attention_mask, changed).logits
        attentions = model(input_ids, attention_mask, decoder_input_ids, output_attentions=True).decoder_attentions
    assert_close(logits_changed[:, :4], logits[:, :4])
    assert not torch.allclose(logits_changed[:, 4:], logits[:, 4:])
    for weights in attentions:  # (batch, heads, tgt, tgt): nothing above the diagonal
        assert torch.equal(weights.triu(diagonal=1), torch.zeros_like(weights))


@pytest.mark.parametrize("position_type", ["sinusoidal", "relative"])
def test_padded_source_positions_get_zero_attention(position_type):
    model = tiny_model(position_embedding_type=position_type)
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    with torch.no_grad():
        outputs = model(input_ids, attention_mask, decoder_input_ids, output_attentions=True)
    padded = (attention_mask == 0)[:, None, None, :]  # (batch, 1, 1, src_len)
    for weights in outputs.cross_attentions + outputs.encoder_attentions:  # (batch, heads, queries, src_len)
        assert torch.all(weights[padded.expand_as(weights)] == 0)
        assert_close(weights.sum(dim=-1), torch.ones(weights.shape[:-1]))


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_changing_padded_source_tokens_changes_nothing(attn_implementation):
    model = tiny_model(attn_implementation=attn_implementation)
    input_ids, attention_mask = source_batch()
    other_padding = input_ids.masked_fill(attention_mask == 0, EOS + 40)
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    with torch.no_grad():
        logits = model(input_ids, attention_mask, decoder_input_ids).logits
        logits_other = model(other_padding, attention_mask, decoder_input_ids).logits
    assert_close(logits_other, logits)


def test_masks_are_skipped_only_when_nothing_would_be_masked():
    full = torch.ones(2, 5, dtype=torch.long)
    assert additive_attention_mask(full, 5, 5, False, torch.float32, "cpu") is None
    # A cached decoding step: the one new query may see every earlier key.
    assert additive_attention_mask(full, 1, 5, True, torch.float32, "cpu") is None
    assert additive_attention_mask(full, 2, 5, True, torch.float32, "cpu") is not None
    padded = full.clone()
    padded[1, -1] = 0
    mask = additive_attention_mask(padded, 1, 5, True, torch.float32, "cpu")
    assert mask.shape == (2, 1, 1, 5) and mask[1, 0, 0, -1] < -1e30 and mask[0].eq(0).all()
