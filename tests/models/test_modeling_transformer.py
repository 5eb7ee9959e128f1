"""modeling_transformer: training forward/backward in every variant, outputs, embeddings sharing and resizing,
gradient checkpointing, input errors, save/load and remote-code loading."""

import json

import pytest
import torch

from hf_attention_zoo.models.transformers_compat import output_cache
from torch.testing import assert_close
from transformers import AutoModel, AutoModelForSeq2SeqLM

from hf_attention_zoo import TransformerSeq2SeqForConditionalGeneration, TransformerSeq2SeqModel
from support.transformer_fixtures import BOS, PAD, VARIANT_IDS, VARIANTS, source_batch, tiny_config, tiny_model


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("position_type, normalize_before", VARIANTS, ids=VARIANT_IDS)
def test_forward_loss_and_backward_in_every_variant(position_type, normalize_before, attn_implementation):
    model = tiny_model(
        position_embedding_type=position_type, normalize_before=normalize_before,
        attn_implementation=attn_implementation,
    ).train()
    input_ids, attention_mask = source_batch()
    labels = torch.randint(3, 99, (3, 5))
    labels[2, 3:] = -100
    outputs = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert outputs.logits.shape == (3, 5, 99) and output_cache(outputs) is None
    outputs.loss.backward()
    missing = [name for name, parameter in model.named_parameters() if parameter.grad is None]
    assert not missing, f"parameters without gradient: {missing}"


def test_loss_is_token_cross_entropy_ignoring_minus_100():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    labels = torch.randint(3, 99, (3, 5))
    labels[1, 2:] = -100
    with torch.no_grad():
        outputs = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    log_probs = outputs.logits.log_softmax(-1)
    kept = labels != -100
    expected = -log_probs[kept].gather(-1, labels[kept][:, None]).mean()
    assert_close(outputs.loss, expected)


def test_prepare_decoder_input_ids_from_labels_shifts_right_and_replaces_minus_100():
    model = tiny_model()
    labels = torch.tensor([[5, 6, 2, -100], [7, 2, -100, -100]])
    expected = torch.tensor([[BOS, 5, 6, 2], [BOS, 7, 2, PAD]])
    assert torch.equal(model.prepare_decoder_input_ids_from_labels(labels), expected)


def test_hidden_states_and_return_dict_false():
    model = tiny_model(normalize_before=True)
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    with torch.no_grad():
        outputs = model(input_ids, attention_mask, decoder_input_ids, output_hidden_states=True)
        as_tuple = model(input_ids, attention_mask, decoder_input_ids, use_cache=False, return_dict=False)
    assert len(outputs.encoder_hidden_states) == len(outputs.decoder_hidden_states) == 3  # embeddings + 2 layers
    assert outputs.encoder_hidden_states[-1].shape == (3, 7, 16)
    assert_close(outputs.encoder_hidden_states[-1], outputs.encoder_last_hidden_state)
    assert_close(as_tuple[0], outputs.logits)


def test_base_model_returns_decoder_states():
    torch.manual_seed(0)
    model = TransformerSeq2SeqModel(tiny_config()).eval()
    input_ids, attention_mask = source_batch()
    with torch.no_grad():
        outputs = model(input_ids, attention_mask, decoder_input_ids=torch.randint(3, 99, (3, 4)))
    assert outputs.last_hidden_state.shape == (3, 4, 16)
    assert outputs.encoder_last_hidden_state.shape == (3, 7, 16)


@pytest.mark.parametrize(
    "share, tie, expected_matrices",
    [(True, True, 1), (True, False, 2), (False, True, 2), (False, False, 3)],
)
def test_embedding_sharing_and_tying_follow_the_config(share, tie, expected_matrices):
    model = tiny_model(share_encoder_decoder_embeddings=share, tie_word_embeddings=tie)
    matrices = {
        id(model.model.encoder.embed_tokens.weight), id(model.model.decoder.embed_tokens.weight),
        id(model.lm_head.weight),
    }
    assert len(matrices) == expected_matrices
    assert (model.model.encoder.embed_tokens.weight is model.model.decoder.embed_tokens.weight) == share
    assert (model.lm_head.weight is model.model.decoder.embed_tokens.weight) == tie


@pytest.mark.parametrize("share, tie", [(True, True), (True, False), (False, True), (False, False)])
def test_resize_token_embeddings_keeps_sharing_and_tying(share, tie):
    model = tiny_model(share_encoder_decoder_embeddings=share, tie_word_embeddings=tie)
    model.resize_token_embeddings(120)
    assert model.config.vocab_size == 120
    for weight in (model.model.encoder.embed_tokens.weight, model.model.decoder.embed_tokens.weight,
                   model.lm_head.weight):
        assert weight.shape == (120, 16)
    assert (model.model.encoder.embed_tokens.weight is model.model.decoder.embed_tokens.weight) == share
    assert (model.lm_head.weight is model.model.decoder.embed_tokens.weight) == tie
    input_ids = torch.tensor([[110, 5, 2]])
    with torch.no_grad():
        assert model(input_ids=input_ids, decoder_input_ids=input_ids).logits.shape == (1, 3, 120)


def test_gradient_checkpointing_runs_forward_and_backward():
    model = tiny_model(position_embedding_type="relative").train()
    model.activation_checkpointing_enable()  # transformers 5.23's name for gradient_checkpointing_enable
    assert all(layer.gradient_checkpointing for layer in model.model.decoder.layers)
    input_ids, attention_mask = source_batch()
    labels = torch.randint(3, 99, (3, 5))
    torch.manual_seed(1)
    loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    loss.backward()
    assert all(parameter.grad is not None for parameter in model.parameters())


@pytest.mark.parametrize("bad_id, message", [(99, r"ids in \[3, 99\].*vocabulary is \[0, 99\)"),
                                              (-100, r"ids in \[-100, .*vocabulary is \[0, 99\)")])
def test_token_ids_outside_the_vocabulary_raise_a_clear_error(bad_id, message):
    model = tiny_model()
    input_ids = torch.tensor([[3, 4, bad_id]])
    with pytest.raises(ValueError, match=r"input_ids holds " + message):
        model(input_ids=input_ids, decoder_input_ids=torch.tensor([[BOS]]))
    with pytest.raises(ValueError, match=r"decoder_input_ids holds " + message):
        model(input_ids=torch.tensor([[3, 4]]), decoder_input_ids=input_ids)


def test_empty_source_raises_a_clear_error():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"input_ids is empty \(shape \(2, 0\)\)"):
        model(input_ids=torch.zeros(2, 0, dtype=torch.long), decoder_input_ids=torch.ones(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="sequence length 0"):
        model(inputs_embeds=torch.zeros(2, 0, 16), decoder_input_ids=torch.ones(2, 1, dtype=torch.long))


def test_missing_decoder_inputs_raise():
    with pytest.raises(ValueError, match="Pass decoder_input_ids"):
        tiny_model()(input_ids=torch.tensor([[3, 4]]))


def test_inputs_embeds_match_input_ids():
    model = tiny_model()
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    embed = model.get_input_embeddings()
    with torch.no_grad():
        from_ids = model(input_ids, attention_mask, decoder_input_ids).logits
        from_embeds = model(attention_mask=attention_mask, inputs_embeds=embed(input_ids),
                            decoder_inputs_embeds=embed(decoder_input_ids)).logits
    assert_close(from_embeds, from_ids)


@pytest.mark.parametrize("share, tie", [(True, True), (True, False), (False, True)])
def test_save_and_load_give_identical_outputs(tmp_path, share, tie):
    model = tiny_model(position_embedding_type="relative", share_encoder_decoder_embeddings=share,
                       tie_word_embeddings=tie)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin"))
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path, attn_implementation="eager").eval()
    assert type(loaded) is TransformerSeq2SeqForConditionalGeneration
    input_ids, attention_mask = source_batch()
    decoder_input_ids = torch.randint(3, 99, (3, 4))
    with torch.no_grad():
        assert_close(loaded(input_ids, attention_mask, decoder_input_ids).logits,
                     model(input_ids, attention_mask, decoder_input_ids).logits, rtol=0, atol=0)
    assert (loaded.lm_head.weight is loaded.model.decoder.embed_tokens.weight) == tie
    base = AutoModel.from_pretrained(tmp_path)
    assert type(base) is TransformerSeq2SeqModel


def test_config_auto_map_names_the_three_auto_classes(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map == {
        "AutoConfig": "configuration_transformer.TransformerSeq2SeqConfig",
        "AutoModel": "modeling_transformer.TransformerSeq2SeqModel",
        "AutoModelForSeq2SeqLM": "modeling_transformer.TransformerSeq2SeqForConditionalGeneration",
    }
    assert (tmp_path / "modeling_transformer.py").exists() and (tmp_path / "transformer_attention.py").exists()


