"""transformers' own ModelTesterMixin / ConfigTester suite against the Show-Attend-Tell captioning family (harness:
tests/transformers_common/README.md). Tests that cannot apply are skipped below, each with its reason."""

import unittest

from transformers_common import (
    ConfigTester,
    GenerationTesterMixin,
    ModelTesterMixin,
    OneTorchThread,
    floats_tensor,
    ids_tensor,
    register_model_names,
)

from hf_attention_zoo import ShowAttendTellConfig, ShowAttendTellForConditionalGeneration, ShowAttendTellModel

register_model_names(
    "zoo_show_attend_tell",
    MODEL_MAPPING_NAMES="ShowAttendTellModel",
    MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES="ShowAttendTellForConditionalGeneration",
)


class ShowAttendTellModelTester:
    def __init__(self, parent, batch_size=13, seq_length=7, image_size=16):
        self.parent, self.batch_size, self.seq_length, self.is_training = parent, batch_size, seq_length, True
        self.image_size, self.num_channels, self.cnn_channels = image_size, 3, [8, 16]
        grid = image_size // 2 ** len(self.cnn_channels)
        # The encoder's "sequence" is the grid of L = H'·W' annotation vectors; the decoder's is the caption.
        self.encoder_seq_length, self.decoder_seq_length = grid * grid, seq_length
        self.vocab_size, self.hidden_size, self.num_hidden_layers = 99, 16, 1
        self.num_attention_heads = 1
        self.pad_token_id = 1

    def get_config(self) -> ShowAttendTellConfig:
        return ShowAttendTellConfig(
            vocab_size=self.vocab_size, image_size=self.image_size, num_channels=self.num_channels,
            cnn_channels=self.cnn_channels, feature_self_attention=True, embedding_size=self.hidden_size,
            hidden_size=self.hidden_size, attention_hidden_size=12, attention_type="soft", gating_scalar=True,
            # The mixin's loss tests want plain cross-entropy: no doubly stochastic term (tested in
            # test_modeling_show_attend_tell.py).
            doubly_stochastic_weight=0.0,
            # init_std 0.3, not 0.02: near-uniform outputs would let a wrong wiring pass at 1e-5.
            init_std=0.3, dropout=0.1, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=0,
        )

    def prepare_config_and_inputs_for_common(self):
        pixel_values = floats_tensor([self.batch_size, self.num_channels, self.image_size, self.image_size])
        decoder_input_ids = ids_tensor([self.batch_size, self.decoder_seq_length], self.vocab_size).clamp(3)
        return self.get_config(), {
            "pixel_values": pixel_values,
            "decoder_input_ids": decoder_input_ids,
            "decoder_attention_mask": decoder_input_ids.ne(1).long(),
        }


class ShowAttendTellCommonTest(OneTorchThread, ModelTesterMixin, GenerationTesterMixin, unittest.TestCase):
    all_model_classes = (ShowAttendTellModel, ShowAttendTellForConditionalGeneration)
    is_encoder_decoder = True
    # has_attentions stays True: the SAGAN maps (encoder_attentions) and α (cross_attentions) go through the mixin's
    # output-equivalence tests; only the tests that need decoder self-attention are skipped below.
    test_can_init_all_missing_weights_before_2023 = True

    def setUp(self):
        self.model_tester = ShowAttendTellModelTester(self)
        self.config_tester = ConfigTester(self, config_class=ShowAttendTellConfig,
                                          common_properties=["hidden_size", "vocab_size"])

    def test_config(self):
        self.config_tester.run_common_tests()

    def _prepare_for_class(self, inputs_dict, model_class, return_labels=False):
        inputs = super()._prepare_for_class(inputs_dict, model_class, return_labels=return_labels)
        inputs.pop("input_ids", None)  # the resize tests' alias of decoder_input_ids (_with_caption_ids_as_input_ids)
        return inputs

    def _with_caption_ids_as_input_ids(self, mixin_test):
        """The mixin's resize tests write the new vocabulary's ids into inputs_dict["input_ids"]; a captioner's
        tokens are its decoder_input_ids, so those tests get that very tensor under both names (in-place edits
        reach the decoder) and _prepare_for_class drops the alias before the forward pass."""
        prepare = self.model_tester.prepare_config_and_inputs_for_common

        def prepare_with_alias():
            config, inputs = prepare()
            inputs["input_ids"] = inputs["decoder_input_ids"]
            return config, inputs

        self.model_tester.prepare_config_and_inputs_for_common = prepare_with_alias
        mixin_test(self)

    def test_resize_tokens_embeddings(self):
        self._with_caption_ids_as_input_ids(ModelTesterMixin.test_resize_tokens_embeddings)

    def test_resize_embeddings_untied(self):
        self._with_caption_ids_as_input_ids(ModelTesterMixin.test_resize_embeddings_untied)

    @unittest.skip(reason="The LSTM decoder has no self-attention (decoder_attentions is None); α and the SAGAN maps "
                          "are tested in test_modeling_show_attend_tell.py.")
    def test_attention_outputs(self):
        pass

    @unittest.skip(reason="It retains grads on decoder_attentions[0], which an LSTM decoder does not have.")
    def test_retain_grad_hidden_states_attentions(self):
        pass

    @unittest.skip(reason="The CNN encoder's hidden state is one 4-D feature map (batch, D, H', W'), not one "
                          "(batch, L, hidden) per layer, and the decoder's are (embeddings, LSTM h).")
    def test_hidden_states_output(self):
        pass
