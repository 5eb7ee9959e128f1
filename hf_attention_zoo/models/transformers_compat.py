"""The one seam between the zoo's models and transformers APIs that changed within 5.x.

Every saved model folder ships this file with its modeling code, so a checkpoint saved under one transformers
release loads and generates under any other release from the floor (5.23) to the newest 5.x. Both families call
these helpers; nothing else in the models names a version-dependent transformers API.

The cache argument, bridged here:
- transformers <= 5.23: `generate()` passes the decoder cache to `forward()` as `past_key_values=` and reads the
  next step's cache back from `outputs.past_key_values`.
- transformers >= 5.24: both are called `cache`. `past_key_values` stays a deprecated alias (removal announced for
  5.40): model outputs accept it with a warning and keep it as a deprecated property.
The models take `cache` where transformers 5.24 puts it and `past_key_values` as the old alias, resolve the two
with `resolve_cache_argument`, and return the cache under the name the installed release reads
(`cache_output`). Beam search in both lines calls `model._reorder_cache(cache, beam_idx)` when the model defines
it, else `cache.reorder_cache(beam_idx)`; the zoo uses only these two hooks.
"""

import warnings

from transformers.modeling_outputs import Seq2SeqLMOutput

# Every name a release may use for the decoder cache in `forward()` arguments and model outputs: listed in
# `config.keys_to_ignore_at_inference` (Trainer's evaluation drops them from the logits) and in
# `_skip_keys_device_placement` (accelerate's device hooks leave the cache object where it is).
CACHE_NAMES = ["cache", "past_key_values"]

# The field of transformers' output classes that generate() reads the next step's cache from.
OUTPUT_CACHE_NAME = "cache" if "cache" in Seq2SeqLMOutput.__dataclass_fields__ else "past_key_values"


def resolve_cache_argument(cache, past_key_values):
    """The decoder cache a `forward()` was given, under either name: `cache` (transformers >= 5.24) or
    `past_key_values` (what generate() passes up to transformers 5.23). Passing two different objects is an error;
    the old name under a release that has the new one warns, as transformers' own models do."""
    if past_key_values is None:
        return cache
    if cache is not None and cache is not past_key_values:
        raise ValueError(
            "Got both `cache` and `past_key_values`: pass the decoder cache once, as `cache` (transformers >= 5.24) "
            "or as `past_key_values` (its name up to transformers 5.23)."
        )
    if OUTPUT_CACHE_NAME == "cache":
        warnings.warn(
            "`past_key_values` is deprecated since transformers 5.24 (removal announced for 5.40): pass the decoder "
            "cache as `cache`.",
            FutureWarning,
            stacklevel=3,
        )
    return past_key_values


def cache_output(cache) -> dict:
    """`{name: cache}` for a transformers output class, under the name the installed release's generate() reads:
    `Seq2SeqLMOutput(logits=..., **cache_output(cache))`."""
    return {OUTPUT_CACHE_NAME: cache}


def output_cache(outputs):
    """The decoder cache held by a model output, whatever the installed release calls it."""
    return getattr(outputs, OUTPUT_CACHE_NAME)


__all__ = ["CACHE_NAMES", "OUTPUT_CACHE_NAME", "resolve_cache_argument", "cache_output", "output_cache"]
