"""transformers' own ModelTesterMixin / ConfigTester suite against the RNN family (harness:
tests/transformers_common/README.md). Tests that cannot apply are skipped below, each with its reason."""

import unittest

from transformers_common import (
    ConfigTester,
    GenerationTesterMixin,
    ModelTesterMixin,
    OneTorchThread,
    ids_tensor,
    register_model_names,
)

from hf_attention_zoo import RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration, RNNSeq2SeqModel

register_model_names(
    "zoo_rnn_seq2seq",
    MODEL_MAPPING_NAMES="RNNSeq2SeqModel",
    MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES="RNNSeq2SeqForConditionalGeneration",
)


class RNNSeq2SeqModelTester:
    def __init__(self, parent, batch_size=13, seq_length=7):
        self.parent, self.batch_size, self.seq_length, self.is_training = parent, batch_size, seq_length, True
        self.encoder_seq_length = self.decoder_seq_length = seq_length
        self.vocab_size, self.hidden_size, self.num_hidden_layers = 99, 16, 2
        # hidden_states = (embeddings, layer 1, layer 2) for encoder and decoder alike
        self.expected_num_hidden_layers = self.num_hidden_layers + 1
        self.num_attention_heads = 1
        self.pad_token_id = 1

    def get_config(self) -> RNNSeq2SeqConfig:
        return RNNSeq2SeqConfig(
            vocab_size=self.vocab_size, embedding_size=16, hidden_size=16, encoder_hidden_size=8,
            attention_hidden_size=12, encoder_layers=2, decoder_layers=2, cell_type="lstm",
            attention_type="additive", attention_wiring="luong", input_feeding=True, bidirectional_encoder=True,
            # init_std 0.3, not the paper's 0.01: near-uniform outputs would let a wrong wiring pass at 1e-5.
            init_std=0.3, dropout=0.1, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=0,
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


class RNNSeq2SeqCommonTest(OneTorchThread, ModelTesterMixin, GenerationTesterMixin, unittest.TestCase):
    all_model_classes = (RNNSeq2SeqModel, RNNSeq2SeqForConditionalGeneration)
    is_encoder_decoder = True
    # An RNN has no self-attention (encoder_attentions / decoder_attentions are None), so the mixin's attention
    # tests, which expect per-layer multi-head self-attention maps, do not apply. The alignment weights
    # (cross_attentions) are tested in test_rnn_model.py and test_rnn_generation.py.
    has_attentions = False
    test_can_init_all_missing_weights_before_2023 = True

    def setUp(self):
        self.model_tester = RNNSeq2SeqModelTester(self)
        self.config_tester = ConfigTester(self, config_class=RNNSeq2SeqConfig,
                                          common_properties=["hidden_size", "vocab_size"])

    def test_config(self):
        self.config_tester.run_common_tests()

    @unittest.skip(reason="The test embeds decoder_input_ids with get_input_embeddings(), the encoder's table; the "
                          "RNN family has separate source and target tables (as the papers do). inputs_embeds and "
                          "decoder_inputs_embeds are tested in test_rnn_model.py.")
    def test_inputs_embeds_matches_input_ids(self):
        pass
