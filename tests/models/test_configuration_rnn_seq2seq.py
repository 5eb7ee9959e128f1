"""RNNSeq2SeqConfig: paper defaults, presets, and bad values that fail at construction naming the fix."""

import pytest
from huggingface_hub.errors import StrictDataclassError
from transformers import AutoConfig

from hf_attention_zoo import RNN_PRESETS, RNNSeq2SeqConfig


def test_defaults_reproduce_bahdanau_rnnsearch():
    config = RNNSeq2SeqConfig()
    assert (config.vocab_size, config.embedding_size, config.hidden_size) == (30000, 620, 1000)
    assert (config.cell_type, config.attention_type, config.attention_wiring) == ("gru", "additive", "bahdanau")
    assert config.bidirectional_encoder and config.encoder_output_size == 2000
    assert config.attention_hidden_size == 1000


@pytest.mark.parametrize("name", sorted(RNN_PRESETS))
def test_every_preset_builds_and_accepts_overrides(name):
    config = RNNSeq2SeqConfig.from_preset(name, vocab_size=123)
    assert config.vocab_size == 123
    for field, value in RNN_PRESETS[name].items():
        if field != "vocab_size":
            assert getattr(config, field) == value


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="bahdanau2015"):
        RNNSeq2SeqConfig.from_preset("bahdanau")


def test_auto_config_builds_the_registered_type():
    config = AutoConfig.for_model("zoo_rnn_seq2seq", vocab_size=50)
    assert isinstance(config, RNNSeq2SeqConfig) and config.vocab_size == 50


def test_save_and_load_round_trip(tmp_path):
    config = RNNSeq2SeqConfig(vocab_size=77, cell_type="lstm", attention_type="general", attention_wiring="luong",
                              input_feeding=True)
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert loaded.to_diff_dict() == config.to_diff_dict()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(cell_type="lstmm"), r"cell_type.*\('rnn', 'gru', 'lstm'\).*lstmm"),
        (dict(attention_type="bilinear"), r"attention_type.*bilinear"),
        (dict(attention_wiring="nematus"), r"attention_wiring.*nematus"),
        (dict(attention_type="dot"), r"encoder output size \(2 × encoder_hidden_size = 2000\).*hidden_size \(1000\).*set encoder_hidden_size=500"),
        (dict(attention_type="dot", bidirectional_encoder=False, encoder_hidden_size=300),
         r"encoder_hidden_size = 300.*set encoder_hidden_size=1000"),
        (dict(hidden_size=0), r"hidden_size=0.*>= 1"),
        (dict(encoder_layers=-1), r"encoder_layers=-1"),
        (dict(vocab_size=0), r"vocab_size=0"),
        (dict(dropout=1.5), r"dropout=1.5"),
        (dict(dropout=-0.1), r"dropout=-0.1"),
        (dict(init_std=0.0), r"init_std"),
        (dict(input_feeding=True), r"input_feeding=True.*attention_wiring='luong'"),
        (dict(tie_word_embeddings=True), r"embedding_size \(620\) must equal the output layer's input, readout_size \(1000\)"),
        (dict(gru_reset="before", cell_type="lstm"), r"gru_reset='before'.*cell_type='lstm'.*Set cell_type='gru'"),
        (dict(decoder_init="encoder_final"), r"encoder_final.*encoder's state width \(2000\) must equal hidden_size"),
        (dict(bridge_source="backward", bidirectional_encoder=False), r"bridge_source='backward'.*bidirectional_encoder=True"),
        (dict(context_projection=True), r"context_projection=True concerns.*attention_type='none'"),
        (dict(attention_type="none", decoder_reads_context=False), r"decoder_reads_context=False.*attention_wiring='luong'"),
        (dict(attention_type="none", attention_wiring="luong", decoder_reads_context=False, decoder_init="zero"),
         r"would never show the source"),
        (dict(init_range=0.0), r"init_range must be positive"),
        (dict(readout_size=0), r"readout_size=0"),
        (dict(pad_token_id=30000), r"pad_token_id=30000 is outside the vocabulary \[0, 30000\)"),
        (dict(hidden_size="big"), r"hidden_size"),
    ],
)
def test_bad_config_fails_at_construction_naming_value_and_fix(kwargs, message):
    with pytest.raises(StrictDataclassError, match=message):
        RNNSeq2SeqConfig(**kwargs)


@pytest.mark.parametrize("typo, meant", [("hiden_size", "hidden_size"), ("cell_typ", "cell_type"),
                                         ("input_feeding_", "input_feeding"), ("bidirectional", "bidirectional_encoder")])
def test_misspelled_option_fails_with_the_closest_name(typo, meant):
    with pytest.raises(ValueError, match=f"unknown option '{typo}'.*Did you mean '{meant}'"):
        RNNSeq2SeqConfig(**{typo: 1})


def test_transformers_bookkeeping_keys_are_still_accepted():
    config = RNNSeq2SeqConfig(transformers_version="5.0.0", architectures=["RNNSeq2SeqForConditionalGeneration"])
    assert config.architectures == ["RNNSeq2SeqForConditionalGeneration"]
