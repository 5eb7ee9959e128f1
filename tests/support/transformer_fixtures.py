"""Tiny Transformer configs and models shared by the Transformer test files (vocab 99, d_model 16, 2 layers,
4 heads), and a test that they are what the other files assume."""

import itertools

import torch

from hf_attention_zoo import TransformerSeq2SeqConfig, TransformerSeq2SeqForConditionalGeneration

POSITION_TYPES = ["sinusoidal", "learned", "relative"]
# Every position type x post-LN (the paper) / pre-LN.
VARIANTS = list(itertools.product(POSITION_TYPES, [False, True]))
VARIANT_IDS = [f"{position}-{'preLN' if before else 'postLN'}" for position, before in VARIANTS]
BOS, PAD, EOS = 0, 1, 2  # the config defaults (fairseq's order)


def tiny_config(**overrides) -> TransformerSeq2SeqConfig:
    fields = dict(
        vocab_size=99, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
        max_relative_position=3, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS, decoder_start_token_id=BOS,
        # Larger than the 0.02 default so that outputs differ clearly between inputs and beams rarely tie (a nearly
        # uniform untrained model would hide bugs and make beam comparisons fragile).
        init_std=0.3,
    )
    fields.update(overrides)
    return TransformerSeq2SeqConfig(**fields)


def tiny_model(seed: int = 0, attn_implementation: str = "eager", **overrides):
    """A tiny generation model in eval mode."""
    torch.manual_seed(seed)
    model = TransformerSeq2SeqForConditionalGeneration(tiny_config(**overrides))
    model.set_attn_implementation(attn_implementation)
    return model.eval()


def eos_prone_model(seed: int = 0, **overrides):
    """A tiny model (untied output projection) whose EOS row points along its mean decoder state, so that some
    hypotheses end early and others run to the length limit: the generation tests then cover padding after EOS."""
    model = tiny_model(seed=seed, tie_word_embeddings=False, **overrides)
    input_ids, attention_mask = source_batch(seed=seed + 100)
    with torch.no_grad():
        decoder_input_ids = torch.randint(3, model.config.decoder_vocab_size, (input_ids.shape[0], 6),
                                          generator=torch.Generator().manual_seed(seed))
        mean_state = model.model(input_ids, attention_mask, decoder_input_ids).last_hidden_state.mean(dim=(0, 1))
        model.lm_head.weight[EOS] = 1.1 * mean_state / mean_state.norm()
    return model


def source_batch(seed: int = 0, batch: int = 3, length: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded source ids (no special ids inside) ending in EOS, and their attention mask; rows get shorter."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, 99, (batch, length), generator=generator)
    attention_mask = torch.ones(batch, length, dtype=torch.long)
    for row in range(batch):
        row_length = length - 2 * row
        input_ids[row, row_length - 1] = EOS
        input_ids[row, row_length:] = PAD
        attention_mask[row, row_length:] = 0
    return input_ids, attention_mask
