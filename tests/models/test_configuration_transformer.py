"""TransformerSeq2SeqConfig: paper defaults, presets and their parameter counts, and loud failures on bad values."""

import pytest
import torch
from huggingface_hub.errors import StrictDataclassError
from transformers import AutoConfig

from hf_attention_zoo import TransformerSeq2SeqConfig, TransformerSeq2SeqForConditionalGeneration


def test_defaults_are_the_paper_base_model():
    config = TransformerSeq2SeqConfig()
    assert (config.encoder_layers, config.decoder_layers, config.d_model) == (6, 6, 512)
    assert (config.encoder_ffn_dim, config.encoder_attention_heads, config.dropout) == (2048, 8, 0.1)
    assert config.position_embedding_type == "sinusoidal" and not config.normalize_before
    assert config.scale_embedding and config.share_encoder_decoder_embeddings and config.tie_word_embeddings
    assert config.is_encoder_decoder and set(config.keys_to_ignore_at_inference) == {"cache", "past_key_values"}


def test_presets_build_the_named_sizes_with_overrides():
    big = TransformerSeq2SeqConfig.from_preset("big", vocab_size=1000)
    assert (big.d_model, big.encoder_ffn_dim, big.decoder_attention_heads, big.dropout) == (1024, 4096, 16, 0.3)
    assert big.vocab_size == 1000
    small = TransformerSeq2SeqConfig.from_preset("small", vocab_size=99)
    assert small.d_model < 512 and small.encoder_layers < 6
    assert TransformerSeq2SeqConfig.from_preset("base") == TransformerSeq2SeqConfig()


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown preset 'huge'. Valid presets: base, big, small"):
        TransformerSeq2SeqConfig.from_preset("huge")


def _count_parameters(config: TransformerSeq2SeqConfig) -> int:
    with torch.device("meta"):  # shapes only: no memory, no initialisation time
        model = TransformerSeq2SeqForConditionalGeneration(config)
    return sum(parameter.numel() for parameter in model.parameters())  # tied parameters counted once


@pytest.mark.parametrize("preset, paper_count", [("base", 65e6), ("big", 213e6)])
def test_presets_have_the_paper_parameter_counts(preset, paper_count):
    """Table 3 reports 65M (base) and 213M (big) parameters. Counted here: the paper's shared 37000-token vocabulary
    (vocab_size=37000) with one embedding matrix for source, target and the pre-softmax projection (§3.4, so
    counted once), sinusoidal positions (no position parameters), bias-free attention projections W^Q, W^K, W^V,
    W^O (§3.2.2), feed-forward weights and biases (§3.3) and the LayerNorm gains and biases. Measured: base
    63,045,632 (3% under 65M), big 214,171,648 (0.5% over 213M); the paper rounds and does not give its exact
    vocabulary size."""
    count = _count_parameters(TransformerSeq2SeqConfig.from_preset(preset, vocab_size=37000))
    assert count == pytest.approx(paper_count, rel=0.04)


def test_config_round_trips_through_auto_config(tmp_path):
    config = TransformerSeq2SeqConfig(d_model=64, position_embedding_type="relative", max_relative_position=4)
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert type(loaded) is TransformerSeq2SeqConfig
    assert loaded.to_diff_dict() == config.to_diff_dict()
    assert (loaded.d_model, loaded.position_embedding_type, loaded.max_relative_position) == (64, "relative", 4)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"d_model": 30}, r"d_model=30 is not divisible by encoder_attention_heads=8.*Use a number of heads"),
        ({"decoder_attention_heads": 5}, r"d_model=512 is not divisible by decoder_attention_heads=5"),
        ({"position_embedding_type": "rotary"},
         r"position_embedding_type.*'sinusoidal', 'learned', 'relative'.*rotary"),
        ({"dropout": -0.1}, r"dropout rates must lie in \[0, 1\), got dropout=-0.1"),
        ({"attention_dropout": 1.0}, r"got attention_dropout=1.0"),
        ({"encoder_layers": 0}, r"sizes must be positive integers, got encoder_layers=0"),
        ({"vocab_size": -5}, r"vocab_size=-5"),
        ({"max_relative_position": 0}, r"max_relative_position=0"),
        ({"init_std": 0.0}, r"init_std must be positive, got init_std=0.0"),
        ({"vocab_size": 50, "eos_token_id": 50}, r"eos_token_id=50 is outside the vocabulary \[0, 50\)"),
        ({"decoder_start_token_id": -1}, r"decoder_start_token_id=-1 is outside the vocabulary"),
        ({"activation_function": "rleu"}, r"unknown activation_function='rleu'. Use one of .*relu"),
        ({"d_model": 15, "encoder_attention_heads": 3, "decoder_attention_heads": 3}, r"d_model must be even"),
    ],
)
def test_bad_values_fail_at_construction_naming_the_value_and_fix(options, message):
    with pytest.raises(StrictDataclassError, match=message):
        TransformerSeq2SeqConfig(**options)


@pytest.mark.parametrize("typo, field", [("d_modle", "d_model"), ("encoder_layer", "encoder_layers"),
                                          ("postion_embedding_type", "position_embedding_type")])
def test_misspelled_option_is_rejected_with_the_closest_name(typo, field):
    with pytest.raises(ValueError, match=rf"unknown option '{typo}'.*Did you mean '{field}'"):
        TransformerSeq2SeqConfig(**{typo: 1})


def test_wrong_type_is_rejected():
    with pytest.raises(StrictDataclassError, match="d_model"):
        TransformerSeq2SeqConfig(d_model="512")
