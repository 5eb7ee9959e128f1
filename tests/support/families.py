"""Every registered family, in the variants the shared equivalence tests run (tests/models/test_equivalences.py),
with a right-padded source batch. A new family adds its variants here and gets every equivalence test for free; a
test fails while a registered family has none."""

import torch

from support import rnn_fixtures, transformer_fixtures

RNN_VARIANTS = {
    "bahdanau-gru-additive": dict(cell_type="gru", attention_type="additive", attention_wiring="bahdanau"),
    "luong-lstm-general-feed": dict(cell_type="lstm", attention_type="general", attention_wiring="luong",
                                    input_feeding=True),
    "luong-rnn-dot": dict(cell_type="rnn", attention_type="dot", attention_wiring="luong"),
    "context-vector-lstm": dict(cell_type="lstm", attention_type="none", attention_wiring="bahdanau"),
    # The paper presets' switches (tests/models/test_rnn_paper_presets.py checks them against the papers).
    "cho-paper-gru-context": dict(cell_type="gru", gru_reset="before", attention_type="none", bidirectional_encoder=False,
                                  encoder_hidden_size=16, context_projection=True, bridge_bias=False, readout_size=10),
    "sutskever-reversed-separate-vocab": dict(
        cell_type="lstm", attention_type="none", attention_wiring="luong", bidirectional_encoder=False,
        encoder_hidden_size=16, decoder_reads_context=False, decoder_init="encoder_final", reverse_source=True,
        decoder_vocab_size=71),
    "luong-reversed-encoder-final": dict(
        cell_type="lstm", attention_type="general", attention_wiring="luong", input_feeding=True,
        bidirectional_encoder=False, encoder_hidden_size=16, decoder_init="encoder_final", reverse_source=True),
    # last: the remote-code test loads it, so it should use the newest module (rnn_cells.ResetBeforeGRU)
    "bahdanau-paper-gru": dict(cell_type="gru", gru_reset="before", bridge_source="backward", bridge_bias=False,
                               readout_size=10),
}
TRANSFORMER_VARIANTS = {
    "sinusoidal-postLN": dict(position_embedding_type="sinusoidal"),
    "learned-preLN": dict(position_embedding_type="learned", normalize_before=True),
    "relative-postLN": dict(position_embedding_type="relative"),
    "sinusoidal-postLN-sdpa": dict(position_embedding_type="sinusoidal", attn_implementation="sdpa"),
    "separate-vocabularies": dict(decoder_vocab_size=71, share_encoder_decoder_embeddings=False),
}


def _rnn(overrides: dict):
    return rnn_fixtures.tiny_model(**overrides)


def _transformer(overrides: dict):
    # Some hypotheses end early with EOS and others run to the limit, so padding after EOS is covered.
    return transformer_fixtures.eos_prone_model(**overrides)


def _rnn_sources():
    return rnn_fixtures.padded_batch()


def _transformer_sources():
    return transformer_fixtures.source_batch()


# family name -> (variant -> config overrides, model builder, source batch builder)
FAMILY_FIXTURES = {
    "rnn": (RNN_VARIANTS, _rnn, _rnn_sources),
    "transformer": (TRANSFORMER_VARIANTS, _transformer, _transformer_sources),
}
CASES = [(family, variant) for family, (variants, _, _) in FAMILY_FIXTURES.items() for variant in variants]
CASE_IDS = [f"{family}-{variant}" for family, variant in CASES]


def build_model(family: str, variant: str):
    variants, build, _ = FAMILY_FIXTURES[family]
    return build(variants[variant]).eval()


def sources(family: str) -> tuple[torch.Tensor, torch.Tensor]:
    return FAMILY_FIXTURES[family][2]()
