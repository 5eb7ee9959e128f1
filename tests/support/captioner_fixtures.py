"""Tiny Show-Attend-Tell configs and models shared by the captioning test files (vocab 29, hidden 16)."""

import torch

from hf_attention_zoo import ShowAttendTellConfig, ShowAttendTellForConditionalGeneration


def tiny_config(**overrides) -> ShowAttendTellConfig:
    fields = dict(vocab_size=29, image_size=16, cnn_channels=[8, 16], embedding_size=12, hidden_size=16,
                  attention_hidden_size=10, dropout=0.0)
    fields.update(overrides)
    return ShowAttendTellConfig(**fields)


def tiny_model(seed: int = 0, **overrides) -> ShowAttendTellForConditionalGeneration:
    """A tiny model in eval mode with weights large enough that outputs differ clearly between images; SAGAN's γ is
    drawn too, so that the block is not the identity it starts as."""
    torch.manual_seed(seed)
    model = ShowAttendTellForConditionalGeneration(tiny_config(**overrides)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "model.encoder" not in name or name.endswith("gamma"):
                param.normal_(0.0, 0.5)
    return model


def image_batch(seed: int = 0, batch: int = 3, size: int = 16) -> torch.Tensor:
    """Normalised pixel values (batch, 3, size, size)."""
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))
