"""Bad input gets a clear error in both families, naming the value and the fix: an attention_mask of the wrong
shape, float token ids, and left-padded sources (refused by both families: one rule, documented in the README)."""

import pytest
import torch

from support import rnn_fixtures
from support import transformer_fixtures

FAMILIES = {"rnn": rnn_fixtures.tiny_model, "transformer": transformer_fixtures.tiny_model}
SOURCE = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 12]])
DECODER = torch.tensor([[0, 13], [0, 14]])


@pytest.fixture(params=sorted(FAMILIES))
def model(request):
    return FAMILIES[request.param]()


@pytest.mark.parametrize("mask", [torch.ones(2, 5, dtype=torch.long), torch.tensor([[1, 1, 1], [1, 1, 0]])],
                         ids=["all-ones", "padded"])
def test_a_mask_whose_shape_differs_from_input_ids_names_both_shapes(model, mask):
    shapes = rf"attention_mask has shape \({mask.shape[0]}, {mask.shape[1]}\) but input_ids has .*\(2, 4\)"
    with pytest.raises(ValueError, match=shapes):
        model(input_ids=SOURCE, attention_mask=mask, decoder_input_ids=DECODER)
    with pytest.raises(ValueError, match=shapes):
        model.generate(input_ids=SOURCE, attention_mask=mask, max_new_tokens=3)


def test_a_mask_that_does_not_match_given_encoder_outputs_names_both_shapes(model):
    encoder_outputs = model.get_encoder()(SOURCE, torch.ones_like(SOURCE))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 3\) but the encoder output has .*\(2, 4\)"):
        model(encoder_outputs=encoder_outputs, attention_mask=torch.ones(2, 3), decoder_input_ids=DECODER)


@pytest.mark.parametrize("name", ["input_ids", "decoder_input_ids"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bool])
def test_float_token_ids_name_the_argument_and_its_dtype(model, name, dtype):
    inputs = {"input_ids": SOURCE, "decoder_input_ids": DECODER}
    inputs[name] = inputs[name].to(dtype)
    with pytest.raises(TypeError, match=rf"{name} must hold integer token ids \(torch.long\), got dtype {dtype}.*"
                                        rf"{name}.long\(\)"):
        model(**inputs)


def test_left_padding_is_refused_with_the_fix_in_both_families(model):
    left_padded = torch.tensor([[1, 1, 5, 6], [9, 10, 11, 12]])
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    with pytest.raises(ValueError, match=r"not right-padded.*tokenizer.padding_side = 'right'"):
        model(input_ids=left_padded, attention_mask=mask, decoder_input_ids=DECODER)
    with pytest.raises(ValueError, match=r"not right-padded"):
        model.generate(input_ids=left_padded, attention_mask=mask, max_new_tokens=3)


def test_right_padding_gives_each_row_what_it_gives_alone(model):
    """The accepted form: a right-padded row equals the same row unpadded (the rule the refusal protects)."""
    padded = torch.tensor([[5, 6, 1, 1], [9, 10, 11, 12]])
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    with torch.no_grad():
        batch = model(input_ids=padded, attention_mask=mask, decoder_input_ids=DECODER).logits
        alone = model(input_ids=padded[:1, :2], decoder_input_ids=DECODER[:1]).logits
    torch.testing.assert_close(batch[:1], alone, rtol=1e-5, atol=1e-5)


def test_mask_values_other_than_zero_and_one_are_refused(model):
    with pytest.raises(ValueError, match=r"attention_mask must hold 1 \(token\) or 0 \(padding\)"):
        model(input_ids=SOURCE, attention_mask=torch.full((2, 4), 0.5), decoder_input_ids=DECODER)
