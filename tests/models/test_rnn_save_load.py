"""save_pretrained / from_pretrained for the RNN family: safetensors, exact weights, remote code without the
package."""

import json

import pytest
import torch
from support.rnn_fixtures import padded_batch, tiny_model
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForSeq2SeqLM

from hf_attention_zoo import RNNSeq2SeqForConditionalGeneration, RNNSeq2SeqModel


@pytest.mark.parametrize("overrides", [
    dict(cell_type="lstm", attention_type="general", attention_wiring="luong", input_feeding=True,
         tie_word_embeddings=True),
])
def test_tied_embeddings_save_once_and_load_tied(tmp_path, overrides):
    model = tiny_model(**overrides)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin"))
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    assert type(loaded) is RNNSeq2SeqForConditionalGeneration
    original_state, loaded_state = model.state_dict(), loaded.state_dict()
    assert original_state.keys() == loaded_state.keys()
    for name, tensor in original_state.items():
        assert torch.equal(tensor, loaded_state[name]), name
    input_ids, attention_mask = padded_batch()
    torch.testing.assert_close(
        model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=input_ids[:, :3]).logits,
        loaded(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=input_ids[:, :3]).logits,
        rtol=0, atol=0,
    )
    if overrides.get("tie_word_embeddings"):
        assert loaded.lm_head.weight.data_ptr() == loaded.model.decoder.embed_tokens.weight.data_ptr()


def test_saved_folder_carries_code_and_names_all_three_auto_classes(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_rnn_seq2seq.RNNSeq2SeqConfig",
        "AutoModel": "modeling_rnn_seq2seq.RNNSeq2SeqModel",
        "AutoModelForSeq2SeqLM": "modeling_rnn_seq2seq.RNNSeq2SeqForConditionalGeneration",
    }
    for module in ["configuration_rnn_seq2seq", "modeling_rnn_seq2seq", "rnn_attention", "rnn_cache",
                   "config_validation", "input_validation", "zoo_pretrained"]:
        assert (tmp_path / f"{module}.py").exists(), module


def test_base_model_saves_and_loads_through_auto_model(tmp_path):
    model = tiny_model().model
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert type(loaded) is RNNSeq2SeqModel
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name


def test_weights_are_stored_in_safetensors_exactly(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    for name, tensor in model.state_dict().items():
        assert torch.equal(stored[name], tensor), name


def test_corrupt_checkpoint_fails_loudly(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(Exception, match="(?i)safetensors|header|deserializ|incomplete|invalid"):
        AutoModelForSeq2SeqLM.from_pretrained(tmp_path)


