"""Checks on model inputs shared by both families: bad ids and empty inputs fail with a clear error, not an
IndexError deep inside an embedding lookup (or, on a GPU, a device-side assert)."""

import torch


def check_token_ids(ids: torch.Tensor, vocab_size: int, name: str) -> None:
    """Raise naming `name` when `ids` are not integers (`TypeError`), or when an id lies outside `[0, vocab_size)`
    or `ids` is empty (`ValueError`)."""
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold integer token ids (torch.long), got dtype {ids.dtype}. Pass the tokenizer's output "
            f"(return_tensors='pt'), or convert with {name}.long()."
        )
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


def check_mask_shape(attention_mask: torch.Tensor | None, expected: tuple[int, int], inputs_name: str) -> None:
    """Raise a `ValueError` naming both shapes when a source `attention_mask` is not `(batch, src_len)` of its
    inputs (`inputs_name` says which: input_ids, inputs_embeds or the encoder outputs)."""
    if attention_mask is not None and tuple(attention_mask.shape) != tuple(expected):
        raise ValueError(
            f"attention_mask has shape {tuple(attention_mask.shape)} but {inputs_name} has (batch, seq_len) "
            f"{tuple(expected)}: pass the attention_mask the tokenizer returned together with these ids, one 1 (token) "
            "or 0 (padding) per source position."
        )


def source_lengths(attention_mask: torch.Tensor | None, expected: tuple[int, int], inputs_name: str):
    """Check a source `attention_mask` and return the lengths of its rows, `(batch,)`, or None when no row is padded.

    One rule for every family: a padded source is padded on the right (tokens, then padding). The RNN encoder packs
    its rows by these lengths and the Transformer takes positions from the index, so a left-padded row would be read
    as a different sentence (the sinusoid of each token shifts): it is refused, with the fix, rather than silently
    changing the output. Rows of padding alone are refused too: a source needs at least one token.
    """
    batch_size, src_len = expected
    if src_len == 0:
        raise ValueError(f"{inputs_name} has no positions (seq_len 0): every source needs at least one token, e.g. </s>.")
    check_mask_shape(attention_mask, expected, inputs_name)
    if attention_mask is None:
        return None
    if attention_mask.is_floating_point() and not bool(((attention_mask == 0) | (attention_mask == 1)).all()):
        raise ValueError("attention_mask must hold 1 (token) or 0 (padding); got other values.")
    mask = attention_mask.bool()
    if bool(mask.all()):
        return None
    lengths = mask.long().sum(dim=1)
    if bool((lengths == 0).any()):
        rows = torch.nonzero(lengths == 0).flatten().tolist()
        raise ValueError(f"Rows {rows} of attention_mask are all zeros: every source needs at least one real token.")
    positions = torch.arange(src_len, device=mask.device)
    if not bool((mask == (positions[None, :] < lengths[:, None])).all()):
        raise ValueError(
            "attention_mask is not right-padded (each row: ones, then zeros); left padding or holes would change "
            "the output. Pad sources on the right: tokenizer.padding_side = 'right' (the zoo's saved tokenizers "
            "default to it)."
        )
    return lengths
