"""Tiny RNN configs and models shared by the RNN test files (vocab 99, hidden 16, 2 layers)."""

import torch

from hf_attention_zoo import RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration

# Every wiring / score / cell the family supports: (cell_type, attention_type, attention_wiring, input_feeding).
WIRINGS = [("bahdanau", False), ("luong", False), ("luong", True)]
CELLS = ["rnn", "gru", "lstm"]
ATTENTIONS = ["none", "additive", "dot", "general", "concat"]


def tiny_config(**overrides) -> RNNSeq2SeqConfig:
    fields = dict(
        vocab_size=99, embedding_size=16, hidden_size=16, encoder_hidden_size=8, encoder_layers=2,
        decoder_layers=2, attention_hidden_size=12, bidirectional_encoder=True, cell_type="gru",
        attention_type="additive", attention_wiring="bahdanau", dropout=0.0,
    )
    fields.update(overrides)
    return RNNSeq2SeqConfig(**fields)


def tiny_model(seed: int = 0, **overrides) -> RNNSeq2SeqForConditionalGeneration:
    """A tiny model in eval mode with weights large enough that outputs differ clearly between inputs (the
    paper's N(0, 0.01^2) initialisation makes every row nearly uniform, which would hide bugs)."""
    torch.manual_seed(seed)
    model = RNNSeq2SeqForConditionalGeneration(tiny_config(**overrides)).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.4)
    return model


def padded_batch(seed: int = 0, lengths=(7, 5, 3)) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded source ids (no special ids) and their attention mask."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 99, (len(lengths), max(lengths)), generator=generator)
    mask = torch.zeros_like(ids)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    return ids.masked_fill(mask == 0, 1), mask
