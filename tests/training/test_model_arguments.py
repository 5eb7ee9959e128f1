"""build_model_config: a training run's config is sized to its tokenizers, each side its own with separate
vocabularies (vocab_size = source, decoder_vocab_size = target)."""

import pytest

from hf_attention_zoo.data.subword_tokenizer import train_tokenizer
from hf_attention_zoo.data.synthetic_dates import make_dates_dataset
from hf_attention_zoo.training.model_arguments import ModelArguments, build_model_config, parse_config_overrides


@pytest.fixture(scope="module")
def tokenizers():
    dates = make_dates_dataset(100, 10, 10, seed=0)
    return train_tokenizer(dates, "human", model="char"), train_tokenizer(dates, "iso", model="char")


@pytest.mark.parametrize("family, preset", [("rnn", "small"), ("rnn", "sutskever2014"), ("transformer", "small")])
def test_separate_tokenizers_size_each_side(tokenizers, family, preset):
    source, target = tokenizers
    assert len(source) != len(target)
    config = build_model_config(ModelArguments(family=family, preset=preset), source, target)
    assert (config.vocab_size, config.decoder_vocab_size) == (len(source), len(target))
    if family == "transformer":
        assert not config.share_encoder_decoder_embeddings


def test_a_joint_tokenizer_sizes_both_sides_alike(tokenizers):
    source, _ = tokenizers
    config = build_model_config(ModelArguments(family="transformer", preset="small"), source, source)
    assert config.vocab_size == config.decoder_vocab_size == len(source)
    assert config.share_encoder_decoder_embeddings


def test_config_overrides_parse_json_values_and_lists_with_commas():
    assert parse_config_overrides("cnn_channels=[32, 64],doubly_stochastic_weight=0,cell_type=lstm,bias=true") == {
        "cnn_channels": [32, 64], "doubly_stochastic_weight": 0, "cell_type": "lstm", "bias": True}
    with pytest.raises(ValueError, match="'64' is not of the form name=value"):
        parse_config_overrides("hidden_size=32,64")
