"""transformers' own ModelTesterMixin / ConfigTester suite against the Transformer family (harness:
tests/transformers_common/README.md), for each position type. Every applicable test runs; the skips are the
mixin's own (flash attention, accelerators, RoPE, ...)."""

import unittest

from transformers_common import (
    ConfigTester,
    GenerationTesterMixin,
    ModelTesterMixin,
    OneTorchThread,
    ids_tensor,
    register_model_names,
)

from hf_attention_zoo import (
    TransformerSeq2SeqConfig,
    TransformerSeq2SeqForConditionalGeneration,
    TransformerSeq2SeqModel,
)

register_model_names(
    "zoo_transformer",
    MODEL_MAPPING_NAMES="TransformerSeq2SeqModel",
    MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES="TransformerSeq2SeqForConditionalGeneration",
)


class TransformerSeq2SeqModelTester:
    def __init__(self, parent, position_embedding_type="sinusoidal", normalize_before=False, batch_size=13,
                 seq_length=7):
        self.parent, self.batch_size, self.seq_length, self.is_training = parent, batch_size, seq_length, True
        self.encoder_seq_length = self.decoder_seq_length = seq_length
        self.vocab_size, self.hidden_size, self.num_hidden_layers, self.num_attention_heads = 99, 16, 2, 4
        self.position_embedding_type, self.normalize_before = position_embedding_type, normalize_before
        self.pad_token_id = 1

    def get_config(self) -> TransformerSeq2SeqConfig:
        return TransformerSeq2SeqConfig(
            vocab_size=99, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
            position_embedding_type=self.position_embedding_type, normalize_before=self.normalize_before,
            init_std=0.3,
        )

    def prepare_config_and_inputs_for_common(self):
        input_ids = ids_tensor([self.batch_size, self.encoder_seq_length], self.vocab_size).clamp(3)
        decoder_input_ids = ids_tensor([self.batch_size, self.decoder_seq_length], self.vocab_size).clamp(3)
        return self.get_config(), {
            "input_ids": input_ids,
            "attention_mask": input_ids.ne(1).long(),
            "decoder_input_ids": decoder_input_ids,
            "decoder_attention_mask": decoder_input_ids.ne(1).long(),
        }


class TransformerSeq2SeqCommonTest(OneTorchThread, ModelTesterMixin, GenerationTesterMixin, unittest.TestCase):
    """The paper's model: sinusoidal positions, post-LN."""

    all_model_classes = (TransformerSeq2SeqModel, TransformerSeq2SeqForConditionalGeneration)
    is_encoder_decoder = True
    test_can_init_all_missing_weights_before_2023 = True
    position_embedding_type, normalize_before = "sinusoidal", False

    def setUp(self):
        self.model_tester = TransformerSeq2SeqModelTester(self, self.position_embedding_type, self.normalize_before)
        self.config_tester = ConfigTester(
            self, config_class=TransformerSeq2SeqConfig, d_model=16, encoder_attention_heads=4,
            decoder_attention_heads=4, common_properties=["d_model", "encoder_layers", "decoder_attention_heads"],
        )

    def test_config(self):
        self.config_tester.run_common_tests()


class TransformerSeq2SeqLearnedPreLNCommonTest(TransformerSeq2SeqCommonTest):
    """Learned positions, pre-LN."""

    position_embedding_type, normalize_before = "learned", True


class TransformerSeq2SeqRelativeCommonTest(TransformerSeq2SeqCommonTest):
    """Shaw et al. relative positions."""

    position_embedding_type, normalize_before = "relative", False
