"""Every registered family, in the variants the shared equivalence tests run (tests/models/test_equivalences.py),
with a source batch: right-padded token ids for the text families, images for the captioner. A new family adds its variants here and gets every equivalence test for free; a
test fails while a registered family has none."""

import torch

from support import captioner_fixtures, rnn_fixtures, transformer_fixtures

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

CAPTIONER_VARIANTS = {
    "soft-attention": dict(),
    "no-attention-baseline": dict(attention_type="none", doubly_stochastic_weight=0.0),
    "no-gate-tied": dict(gating_scalar=False, tie_word_embeddings=True, embedding_size=12),
    # last: the remote-code test loads it, so it uses the newest modules (SAGAN, the image encoder)
    "sagan-self-attention-coordinates": dict(feature_self_attention=True, grid_coordinates=True),
}


def _rnn(overrides: dict):
    return rnn_fixtures.tiny_model(**overrides)


def _transformer(overrides: dict):
    # Some hypotheses end early with EOS and others run to the limit, so padding after EOS is covered.
    return transformer_fixtures.eos_prone_model(**overrides)


def _captioner(overrides: dict):
    return captioner_fixtures.tiny_model(**overrides)


def _text_sources(batch) -> dict:
    input_ids, attention_mask = batch
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def _rnn_sources():
    return _text_sources(rnn_fixtures.padded_batch())


def _transformer_sources():
    return _text_sources(transformer_fixtures.source_batch())


def _captioner_sources():
    return {"pixel_values": captioner_fixtures.image_batch()}


# family name -> (variant -> config overrides, model builder, source batch builder)
FAMILY_FIXTURES = {
    "rnn": (RNN_VARIANTS, _rnn, _rnn_sources),
    "transformer": (TRANSFORMER_VARIANTS, _transformer, _transformer_sources),
    "show_attend_tell": (CAPTIONER_VARIANTS, _captioner, _captioner_sources),
}
CASES = [(family, variant) for family, (variants, _, _) in FAMILY_FIXTURES.items() for variant in variants]
CASE_IDS = [f"{family}-{variant}" for family, variant in CASES]


def build_model(family: str, variant: str):
    variants, build, _ = FAMILY_FIXTURES[family]
    return build(variants[variant]).eval()


def sources(family: str) -> dict[str, torch.Tensor]:
    """The encoder inputs of a batch: `input_ids` and `attention_mask`, or `pixel_values`."""
    return FAMILY_FIXTURES[family][2]()


def source_rows(inputs: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Each row of a source batch alone, without its padding."""
    batch = next(iter(inputs.values())).shape[0]
    if "attention_mask" not in inputs:
        return [{name: value[row:row + 1] for name, value in inputs.items()} for row in range(batch)]
    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    return [{name: value[row:row + 1, :length] for name, value in inputs.items()}
            for row, length in enumerate(lengths)]


def target_vocab_size(model) -> int:
    return getattr(model.config, "decoder_vocab_size", model.config.vocab_size)


def decoder_inputs(inputs: dict[str, torch.Tensor], model, steps: int) -> torch.Tensor:
    """Arbitrary decoder input ids (batch, steps) in the model's target vocabulary."""
    batch = next(iter(inputs.values())).shape[0]
    return torch.randint(3, target_vocab_size(model), (batch, steps), generator=torch.Generator().manual_seed(1))
