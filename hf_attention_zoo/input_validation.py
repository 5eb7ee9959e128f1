"""Checks on model inputs shared by both families: bad ids and empty inputs fail with a clear error, not an
IndexError deep inside an embedding lookup (or, on a GPU, a device-side assert)."""

import torch


def check_token_ids(ids: torch.Tensor, vocab_size: int, name: str) -> None:
    """Raise a `ValueError` naming `name` when an id lies outside `[0, vocab_size)`, or when `ids` is empty."""
    if ids.ndim != 2:
        raise ValueError(f"{name} must have shape (batch, seq_len), got shape {tuple(ids.shape)}.")
    if ids.numel() == 0:
        raise ValueError(
            f"{name} is empty (shape {tuple(ids.shape)}): every row needs at least one token; an empty text still "
            "encodes to the end-of-sequence token."
        )
    low, high = ids.min().item(), ids.max().item()
    if low < 0 or high >= vocab_size:
        raise ValueError(
            f"{name} holds ids in [{low}, {high}] but the model's vocabulary is [0, {vocab_size}). Encode with the "
            "tokenizer saved with the model, or call model.resize_token_embeddings(len(tokenizer)) after adding tokens."
        )
