"""RNNSeq2Seq models: every cell × score × wiring trains, padding is invisible, outputs follow HF conventions."""

import itertools

import pytest
import torch
from support.rnn_fixtures import ATTENTIONS, CELLS, WIRINGS, padded_batch, tiny_config, tiny_model
from transformers import AutoModel, AutoModelForSeq2SeqLM
from transformers.modeling_outputs import Seq2SeqLMOutput, Seq2SeqModelOutput

from hf_attention_zoo import RNNSeq2SeqForConditionalGeneration, RNNSeq2SeqModel
from hf_attention_zoo.models.rnn_attention import AdditiveAttention


def dot_safe(attention_type: str, bidirectional: bool) -> dict:
    """`dot` needs the encoder output size (2 × 8 when bidirectional) to equal hidden_size (16)."""
    if attention_type == "dot":
        return dict(encoder_hidden_size=8 if bidirectional else 16)
    return {}


@pytest.mark.parametrize("cell_type, attention_type, wiring", itertools.product(CELLS, ATTENTIONS, WIRINGS))
def test_every_cell_score_and_wiring_gives_loss_and_gradients(cell_type, attention_type, wiring):
    attention_wiring, input_feeding = wiring
    model = tiny_model(cell_type=cell_type, attention_type=attention_type, attention_wiring=attention_wiring,
                       input_feeding=input_feeding, **dot_safe(attention_type, True)).train()
    input_ids, attention_mask = padded_batch()
    labels = torch.randint(3, 99, (3, 6))
    labels[2, 4:] = -100
    output = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert isinstance(output, Seq2SeqLMOutput) and output.logits.shape == (3, 6, 99)
    assert torch.isfinite(output.loss)
    output.loss.backward()
    no_grad = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert no_grad == []


def test_loss_ignores_minus_100_positions():
    model = tiny_model()
    input_ids, attention_mask = padded_batch()
    labels = torch.randint(3, 99, (3, 6))
    full = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels)
    masked = labels.clone()
    masked[:, 3:] = -100
    partial = model(input_ids=input_ids, attention_mask=attention_mask, labels=masked,
                    decoder_input_ids=decoder_input_ids)
    expected = torch.nn.functional.cross_entropy(full.logits[:, :3].reshape(-1, 99), labels[:, :3].reshape(-1))
    torch.testing.assert_close(partial.loss, expected)


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("cell_type, attention_type, wiring", [
    ("gru", "additive", ("bahdanau", False)), ("lstm", "general", ("luong", True)),
    ("rnn", "dot", ("luong", False)), ("lstm", "none", ("bahdanau", False)), ("gru", "concat", ("luong", True)),
])
def test_padded_batch_equals_its_rows_one_by_one(bidirectional, cell_type, attention_type, wiring):
    model = tiny_model(cell_type=cell_type, attention_type=attention_type, attention_wiring=wiring[0],
                       input_feeding=wiring[1], bidirectional_encoder=bidirectional,
                       **dot_safe(attention_type, bidirectional))
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 5))
    batched = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                    output_attentions=True)
    for row, length in enumerate(attention_mask.sum(1).tolist()):
        alone = model(input_ids=input_ids[row : row + 1, :length], decoder_input_ids=decoder_input_ids[row : row + 1],
                      output_attentions=True)
        torch.testing.assert_close(batched.logits[row], alone.logits[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(batched.encoder_last_hidden_state[row, :length], alone.encoder_last_hidden_state[0],
                                   atol=1e-5, rtol=1e-5)
        if attention_type != "none":
            torch.testing.assert_close(batched.cross_attentions[0][row, :, :, :length], alone.cross_attentions[0][0],
                                       atol=1e-5, rtol=1e-5)


def test_padded_source_positions_get_zero_attention_and_changing_them_changes_nothing():
    model = tiny_model(attention_type="general", attention_wiring="luong")
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    first = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                  output_attentions=True)
    weights = first.cross_attentions[0]  # (batch, 1, tgt_len, src_len)
    assert weights.shape == (3, 1, 4, 7)
    assert torch.all(weights.masked_select(attention_mask[:, None, None, :].expand_as(weights) == 0) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 1, 4))
    other_padding = input_ids.masked_fill(attention_mask == 0, 55)
    second = model(input_ids=other_padding, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids)
    torch.testing.assert_close(first.logits, second.logits)


def test_hidden_states_and_attentions_follow_hf_output_conventions():
    model = tiny_model(encoder_layers=3, decoder_layers=2)
    input_ids, attention_mask = padded_batch()
    output = model.model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=input_ids[:, :4],
                         output_hidden_states=True, output_attentions=True)
    assert isinstance(output, Seq2SeqModelOutput)
    assert output.last_hidden_state.shape == (3, 4, 16)
    assert [h.shape[-1] for h in output.encoder_hidden_states] == [16, 16, 16, 16]  # embeddings, then 2 × 8
    assert len(output.decoder_hidden_states) == 3 and output.decoder_hidden_states[-1].shape == (3, 4, 16)
    assert output.encoder_attentions is None and output.decoder_attentions is None  # an RNN has no self-attention
    assert len(output.cross_attentions) == 1
    as_tuple = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=input_ids[:, :4],
                     return_dict=False)
    assert isinstance(as_tuple, tuple)
    torch.testing.assert_close(as_tuple[0], model(input_ids=input_ids, attention_mask=attention_mask,
                                                  decoder_input_ids=input_ids[:, :4]).logits)


def test_context_vector_model_has_no_cross_attentions():
    model = tiny_model(attention_type="none")
    input_ids, attention_mask = padded_batch()
    output = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=input_ids[:, :3],
                   output_attentions=True)
    assert output.cross_attentions is None
    assert model.model.decoder.attention is None


def test_source_only_attention_work_runs_once_per_source_during_generation():
    model = tiny_model(attention_type="additive")
    calls = []
    model.model.decoder.attention.key_projection.register_forward_hook(lambda *args: calls.append(1))
    input_ids, attention_mask = padded_batch()
    model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=6, min_new_tokens=6)
    assert len(calls) == 1
    calls.clear()
    model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=6, min_new_tokens=6, num_beams=3)
    assert len(calls) == 1


def test_paper_initialisation():
    torch.manual_seed(0)
    model = RNNSeq2SeqForConditionalGeneration(tiny_config(hidden_size=64, embedding_size=64, encoder_hidden_size=64))
    attention = model.model.decoder.attention
    assert isinstance(attention, AdditiveAttention)
    assert torch.all(attention.v_a == 0)  # v_a = 0
    assert attention.key_projection.weight.std() < 0.002  # U_a ~ N(0, 0.001^2)
    for block in model.model.decoder.layers[0].weight_hh_l0.unflatten(0, (3, 64)):  # U_r, U_z, U: each orthogonal
        torch.testing.assert_close(block.T @ block, torch.eye(64), atol=1e-4, rtol=0)
    assert 0.005 < model.lm_head.weight.std() < 0.015


def test_tied_output_projection_shares_the_target_embeddings_and_survives_resizing():
    model = tiny_model(tie_word_embeddings=True)
    assert model.lm_head.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    model.resize_token_embeddings(120)
    assert model.config.vocab_size == 120
    assert model.model.encoder.embed_tokens.weight.shape == (120, 16)
    assert model.model.decoder.embed_tokens.weight.shape == (120, 16)
    assert model.lm_head.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    output = model(input_ids=torch.tensor([[110, 5]]), decoder_input_ids=torch.tensor([[1, 115]]))
    assert output.logits.shape == (1, 2, 120)


def test_untied_resize_keeps_old_rows():
    model = tiny_model()
    old = model.lm_head.weight[:99].clone()
    model.resize_token_embeddings(105)
    assert model.lm_head.weight.shape == (105, 16)
    torch.testing.assert_close(model.lm_head.weight[:99], old)
    assert model.model.decoder.embed_tokens.num_embeddings == 105


def test_auto_classes_build_the_family():
    config = tiny_config()
    assert type(AutoModel.from_config(config)) is RNNSeq2SeqModel
    assert type(AutoModelForSeq2SeqLM.from_config(config)) is RNNSeq2SeqForConditionalGeneration


@pytest.mark.parametrize("bad_ids, message", [
    (torch.tensor([[5, 99]]), r"input_ids holds ids in \[5, 99\] but the model's vocabulary is \[0, 99\)"),
    (torch.tensor([[-1, 5]]), r"input_ids holds ids in \[-1, 5\]"),
    (torch.zeros(1, 0, dtype=torch.long), r"input_ids is empty"),
])
def test_bad_source_ids_raise_a_clear_error(bad_ids, message):
    with pytest.raises(ValueError, match=message):
        tiny_model()(input_ids=bad_ids, decoder_input_ids=torch.tensor([[1]]))


def test_bad_decoder_ids_raise_a_clear_error():
    with pytest.raises(ValueError, match=r"decoder_input_ids holds ids in \[1, 500\]"):
        tiny_model()(input_ids=torch.tensor([[4, 5]]), decoder_input_ids=torch.tensor([[1, 500]]))


def test_left_padding_and_empty_rows_are_refused():
    model = tiny_model()
    with pytest.raises(ValueError, match="right-padded.*padding_side = 'right'"):
        model(input_ids=torch.tensor([[0, 5, 6]]), attention_mask=torch.tensor([[0, 1, 1]]),
              decoder_input_ids=torch.tensor([[1]]))
    with pytest.raises(ValueError, match=r"Rows \[1\] of attention_mask are all zeros"):
        model(input_ids=torch.tensor([[4, 5], [0, 0]]), attention_mask=torch.tensor([[1, 1], [0, 0]]),
              decoder_input_ids=torch.tensor([[1], [1]]))


def test_a_foreign_cache_is_refused():
    from transformers import DynamicCache
    with pytest.raises(TypeError, match="RNNDecoderCache"):
        tiny_model()(input_ids=torch.tensor([[4, 5]]), decoder_input_ids=torch.tensor([[1]]),
                     cache=DynamicCache())


def test_inputs_embeds_equal_input_ids_through_each_side_own_table():
    model = tiny_model()
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    by_ids = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits
    by_embeds = model(inputs_embeds=model.model.encoder.embed_tokens(input_ids), attention_mask=attention_mask,
                      decoder_inputs_embeds=model.model.decoder.embed_tokens(decoder_input_ids)).logits
    torch.testing.assert_close(by_ids, by_embeds)
