"""Length normalisation inside transformers' beam search, for each method of `scoring.NORMALIZATIONS`.

- "none" and "length" are `generate()` arguments: `length_penalty=0.0` (S / |y|**0 = S) and `length_penalty=alpha`
  (S / |y|**alpha), applied by transformers when a hypothesis finishes.
- "gnmt", S / ((5 + |y|) / 6)**alpha (Wu et al. 2016, arXiv:1609.08144, eq. 14), has no `generate()` argument. It is
  applied inside the search by a logits processor, `GNMTLengthNormalization`, with `length_penalty=0.0`: transformers
  then adds the processed scores up into each beam's running score, and the processor shapes them so that the
  running score of every hypothesis of |y| tokens is S / lp(|y|), the GNMT-normalised log-probability, at every step.
  All candidates of one step share |y|, so the ranking of continuations is the ranking by S, as in OpenNMT-py's
  beam search; a finished hypothesis keeps its normalised score, which is what the n-best list is ordered by and
  what `sequences_scores` returns. Not a fork of beam search, not a rescoring of the n-best list.

What stays transformers': its early-stopping rules. With `early_stopping=False` (the default) a batch stops when no
running beam can improve on the worst finished one under the assumption, true for "none", that scores only fall as
hypotheses grow; under "length" and "gnmt" a longer hypothesis can score higher, which transformers itself
approximates for "length" and which holds approximately here. `early_stopping=True` (stop at `num_beams` finished
hypotheses, fairseq's rule) avoids the question. Greedy search and sampling pick each token from the scores of one
step, which no length normalisation changes, so they need none of this.
"""

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from .scoring import NORMALIZATIONS


def gnmt_penalty(length: int | torch.Tensor, alpha: float):
    """lp(|y|) = ((5 + |y|) / 6)**alpha of Wu et al. 2016 eq. 14 (1 for a hypothesis of one token)."""
    return ((5.0 + length) / 6.0) ** alpha


class GNMTLengthNormalization(LogitsProcessor):
    """Makes beam search rank finished hypotheses by S / ((5 + |y|) / 6)**alpha (see the module docstring).

    Use with `length_penalty=0.0` and `num_beams` equal to generate()'s, as the last logits processor (generate adds
    a user's processors after its own): `scores` must be the step's log-probabilities after every other processor.

    At a step where the running hypotheses have n - 1 tokens and raw summed log-probabilities S_prev (running score
    A_prev = S_prev / lp(n - 1)), the score of token v is turned into (S_prev + log p(v)) / lp(n) - A_prev, so that
    the running score of the extended hypothesis is (S_prev + log p(v)) / lp(n). S_prev is kept per hypothesis from
    the previous step's input ids and scores (keyed by the source's row and the token prefix), so the processor is
    stateful within one generate() call and resets at its first step.
    """

    def __init__(self, alpha: float, num_beams: int, prompt_length: int = 1):
        if alpha < 0:
            raise ValueError(f"GNMT length normalisation needs alpha >= 0, got {alpha} (Wu et al. use 0.2 to 1.0).")
        self.alpha, self.num_beams, self.prompt_length = alpha, num_beams, prompt_length
        self._previous: dict[tuple, tuple[float, torch.Tensor]] = {}

    def _raw_sum(self, row: int, prefix: tuple) -> float:
        """S of the running hypothesis `prefix` (input ids) of source `row // num_beams`."""
        if len(prefix) <= self.prompt_length:
            return 0.0
        key = (row // self.num_beams, prefix[:-1])
        if key not in self._previous:
            raise RuntimeError(
                "GNMTLengthNormalization met a hypothesis it did not score at the previous step: pass num_beams equal "
                "to generate()'s, a fresh processor per generate() call, and put it last among the processors."
            )
        parent_sum, parent_scores = self._previous[key]
        return parent_sum + float(parent_scores[prefix[-1]])

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[1] <= self.prompt_length:
            self._previous = {}
        length = input_ids.shape[1] + 1 - self.prompt_length  # |y| of every candidate of this step, eos included
        prefixes = [tuple(row) for row in input_ids.tolist()]
        previous_sums = scores.new_tensor([self._raw_sum(row, prefix) for row, prefix in enumerate(prefixes)])
        previous_running = previous_sums / gnmt_penalty(length - 1, self.alpha) if length > 1 else previous_sums
        self._previous = {(row // self.num_beams, prefix): (float(previous_sums[row]), scores[row].detach().clone())
                          for row, prefix in enumerate(prefixes)}
        return (previous_sums[:, None] + scores) / gnmt_penalty(length, self.alpha) - previous_running[:, None]


def length_normalization_kwargs(method: str, alpha: float = 1.0, num_beams: int = 1) -> dict:
    """The `generate()` arguments that make beam search rank hypotheses by `method` (see the module docstring):
    `length_penalty`, plus a `logits_processor` for "gnmt". None for num_beams = 1: one hypothesis has nothing to be
    ranked against (and generate() warns about a `length_penalty` without beams)."""
    if method not in NORMALIZATIONS:
        raise ValueError(f"Unknown length normalisation {method!r}; choose one of {', '.join(NORMALIZATIONS)}.")
    if num_beams == 1:
        return {}
    if method == "length":
        return {"length_penalty": alpha}
    kwargs = {"length_penalty": 0.0}
    if method == "gnmt":
        kwargs["logits_processor"] = LogitsProcessorList([GNMTLengthNormalization(alpha, num_beams)])
    return kwargs


__all__ = ["GNMTLengthNormalization", "gnmt_penalty", "length_normalization_kwargs"]
