"""Teacher-forced scoring of given outputs: log p(y_t | y_<t, x) for every token of sequences laid out as
`generate()` returns them, summed, and normalised by length with a named method. The attention of a returned
hypothesis, beam-search error analysis and n-best rescoring all start from it.

Normalisations of a summed log-probability S over a hypothesis of |y| tokens (the decoder start token excluded,
the end-of-sequence token included, as transformers counts them):
- "none":   S
- "length": S / |y|**alpha                (transformers' `length_penalty`; alpha = 1 is the mean per token)
- "gnmt":   S / ((5 + |y|) / 6)**alpha     (Wu et al. 2016, arXiv:1609.08144, eq. 14)
"""

from dataclasses import dataclass

import torch

NORMALIZATIONS = ("none", "length", "gnmt")


def length_normalize(sums: torch.Tensor, lengths: torch.Tensor, method: str = "length", alpha: float = 1.0):
    """Normalise summed log-probabilities `sums` of hypotheses of `lengths` tokens (see the module docstring)."""
    if method not in NORMALIZATIONS:
        raise ValueError(f"Unknown length normalisation {method!r}; choose one of {', '.join(NORMALIZATIONS)}.")
    lengths = lengths.to(sums.dtype)
    if method == "none":
        return sums
    if method == "length":
        return sums / lengths**alpha
    return sums / ((5.0 + lengths) / 6.0) ** alpha


@dataclass
class SequenceScores:
    """What `score_sequences` returns, one row per sequence.

    token_log_probs: (batch, steps) log p(y_t | y_<t, x) of each output token, 0 where `mask` is False.
    mask: (batch, steps) True for the counted tokens: up to and including the first end-of-sequence token.
    lengths: (batch,) the counted tokens |y|.
    sums: (batch,) the summed log-probability S.
    normalized: (batch,) S normalised by `normalization` with `alpha`.
    normalization, alpha: how `normalized` was computed.
    """

    token_log_probs: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor
    sums: torch.Tensor
    normalized: torch.Tensor
    normalization: str
    alpha: float


@torch.no_grad()
def score_sequences(
    model,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    sequences: torch.Tensor,
    normalization: str = "none",
    alpha: float = 1.0,
    pixel_values: torch.Tensor | None = None,
) -> SequenceScores:
    """Teacher-forced log-probabilities of `sequences` given the sources, from one full forward pass.

    Args:
        model: a zoo model (any family) in eval mode.
        input_ids, attention_mask: the sources, (batch, src_len); when `sequences` has k rows per source (the
            n-best lists of `generate(num_return_sequences=k)`), each source is repeated k times. For the
            captioner, pass `input_ids=None, attention_mask=None` and the images as `pixel_values`.
        sequences: (batch * k, 1 + steps) as `generate()` returns them: the decoder start token first, padding after
            the end-of-sequence token.
        normalization, alpha: the length normalisation of `normalized` (see the module docstring).
    """
    if (input_ids is None) == (pixel_values is None):
        raise ValueError("Pass the sources once: input_ids (text) or pixel_values (images).")
    source = input_ids if input_ids is not None else pixel_values
    if sequences.shape[0] % source.shape[0]:
        raise ValueError(f"{sequences.shape[0]} sequences for {source.shape[0]} sources: pass k sequences per "
                         "source, grouped by source as generate(num_return_sequences=k) returns them.")
    per_source = sequences.shape[0] // source.shape[0]
    if pixel_values is not None:
        sources = {"pixel_values": pixel_values.repeat_interleave(per_source, dim=0)}
    else:
        masks = None if attention_mask is None else attention_mask.repeat_interleave(per_source, dim=0)
        sources = {"input_ids": input_ids.repeat_interleave(per_source, dim=0), "attention_mask": masks}
    logits = model(**sources, decoder_input_ids=sequences[:, :-1]).logits
    targets = sequences[:, 1:]
    token_log_probs = logits.float().log_softmax(-1).gather(-1, targets[..., None])[..., 0]
    is_eos = (targets == model.config.eos_token_id).long()
    mask = (is_eos.cumsum(dim=1) - is_eos) == 0  # up to and including the first end-of-sequence token
    token_log_probs = token_log_probs * mask
    lengths, sums = mask.sum(dim=1), token_log_probs.sum(dim=1)
    return SequenceScores(token_log_probs, mask, lengths, sums, length_normalize(sums, lengths, normalization, alpha),
                          normalization, alpha)


__all__ = ["NORMALIZATIONS", "SequenceScores", "length_normalize", "score_sequences"]
