"""Proof of tests/transformers_common: transformers' own ModelTesterMixin + ConfigTester (from the installed
version's sdist) run against a tiny built-in MarianModel / MarianMTModel, with our own ModelTester.

A model family's common tests follow the same pattern (tests/transformers_common/README.md). Run:
    bash scripts/fetch_transformers_tests.sh && python -m pytest tests/models/test_common_marian_harness.py -q
"""

import unittest

import torch
from transformers import MarianConfig, MarianModel, MarianMTModel

from transformers_common import (
    ConfigTester,
    GenerationTesterMixin,
    ModelTesterMixin,
    OneTorchThread,
    config_common_kwargs_mismatch,
    ids_tensor,
    register_model_names,
)

# Marian is built in, so these entries exist already: the call proves registration is idempotent and is what a
# family's test module does for its own model_type.
register_model_names(
    "marian", MODEL_MAPPING_NAMES="MarianModel", MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES="MarianMTModel"
)


class TinyMarianTester:
    """Builds the tiny config and inputs the common tests ask for (after transformers' MarianModelTester)."""

    def __init__(self, parent, batch_size=13, seq_length=7, vocab_size=99, hidden_size=16, num_hidden_layers=2,
                 num_attention_heads=4, intermediate_size=4):
        self.parent = parent
        self.batch_size = batch_size
        self.seq_length = seq_length  # the mixin's labels and attention shapes use it; source and target share it
        self.encoder_seq_length = seq_length
        self.decoder_seq_length = seq_length
        self.is_training = True
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.pad_token_id, self.bos_token_id, self.eos_token_id, self.decoder_start_token_id = 1, 0, 2, 3

    def get_config(self) -> MarianConfig:
        return MarianConfig(
            vocab_size=self.vocab_size,
            d_model=self.hidden_size,
            encoder_layers=self.num_hidden_layers,
            decoder_layers=self.num_hidden_layers,
            encoder_attention_heads=self.num_attention_heads,
            decoder_attention_heads=self.num_attention_heads,
            encoder_ffn_dim=self.intermediate_size,
            decoder_ffn_dim=self.intermediate_size,
            dropout=0.1,
            attention_dropout=0.1,
            max_position_embeddings=100,
            pad_token_id=self.pad_token_id,
            bos_token_id=self.bos_token_id,
            eos_token_id=self.eos_token_id,
            decoder_start_token_id=self.decoder_start_token_id,
        )

    def prepare_config_and_inputs_for_common(self) -> tuple[MarianConfig, dict[str, torch.Tensor]]:
        config = self.get_config()
        input_ids = ids_tensor([self.batch_size, self.seq_length], self.vocab_size).clamp(3)
        input_ids[:, -1] = self.eos_token_id
        decoder_input_ids = ids_tensor([self.batch_size, self.seq_length], self.vocab_size)
        return config, {
            "input_ids": input_ids,
            "attention_mask": input_ids.ne(self.pad_token_id),
            "decoder_input_ids": decoder_input_ids,
            "decoder_attention_mask": decoder_input_ids.ne(self.pad_token_id),
        }


class MarianCommonTest(OneTorchThread, ModelTesterMixin, GenerationTesterMixin, unittest.TestCase):
    """The mixin skips, with its own reasons, what cannot apply here: GPU / multi-GPU / MPS / flash-attention /
    kernels / deepspeed / tensor-parallel / torch.compile tests, features Marian lacks (RoPE, MoE, sliding window,
    sub-configs, composite models, fp32-kept modules, weight-conversion mappings, `_can_record_outputs` hidden states,
    resizable position embeddings) and decoder-only LM heads."""

    all_model_classes = (MarianModel, MarianMTModel)
    is_encoder_decoder = True
    # transformers' own Marian test turns test_missing_keys off, and test_can_init_all_missing_weights skips models
    # whose config file is dated before 2023 unless this flag is set: both pass here, so both run.
    test_missing_keys = True
    test_can_init_all_missing_weights_before_2023 = True

    def setUp(self):
        self.model_tester = TinyMarianTester(self)
        self.config_tester = ConfigTester(self, config_class=MarianConfig)

    def test_config(self):
        self.config_tester.run_common_tests()

    def test_standin_config_common_kwargs_covers_installed_base_config(self):
        self.assertEqual(config_common_kwargs_mismatch(), [], "update tests/transformers_common/standins.py")
