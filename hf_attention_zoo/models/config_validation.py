"""Checks shared by the zoo's configs: misspelled options and out-of-range numbers fail loudly, naming the fix."""

import difflib
from collections.abc import Iterable

from transformers import PreTrainedConfig


def reject_misspelled_options(config: PreTrainedConfig, extra_kwargs: dict) -> None:
    """Raise on a keyword that is not a field but looks like one of the family's fields, e.g. `hiden_size`.

    transformers stores unknown config kwargs as plain attributes (for backward compatibility with old Hub
    configs), so a typo would otherwise build a model with the default value silently. Keywords that transformers
    itself knows (`torch_dtype`, `architectures`, `id2label`, ...) and ones that resemble no field are left to
    transformers as usual.

    Args:
        config: the config being built (its own dataclass fields are the names a typo is compared with).
        extra_kwargs: the keywords `__post_init__` received that are not dataclass fields.
    """
    base_fields = set(PreTrainedConfig.__dataclass_fields__)
    own_fields = sorted(set(type(config).__dataclass_fields__) - base_fields)
    for name in extra_kwargs:
        if name in base_fields or hasattr(PreTrainedConfig, name) or name.startswith("_"):
            continue
        close = difflib.get_close_matches(name, own_fields, n=1, cutoff=0.8)
        close = close or [field for field in own_fields if len(name) >= 6 and field.startswith(name)]
        if close:
            raise ValueError(
                f"{type(config).__name__} got an unknown option {name!r}={extra_kwargs[name]!r}. "
                f"Did you mean {close[0]!r}? Rename the keyword; every option is listed in the class docstring."
            )


def require_positive(config: PreTrainedConfig, names: Iterable[str]) -> None:
    """Raise a `ValueError` naming every field in `names` whose value is not a positive integer."""
    bad = {name: getattr(config, name) for name in names if getattr(config, name) <= 0}
    if bad:
        listed = ", ".join(f"{name}={value}" for name, value in bad.items())
        raise ValueError(f"{type(config).__name__}: sizes must be positive integers, got {listed}. Use values >= 1.")


def require_probability(config: PreTrainedConfig, names: Iterable[str]) -> None:
    """Raise a `ValueError` naming every field in `names` whose value is not in [0, 1)."""
    bad = {name: getattr(config, name) for name in names if not 0.0 <= getattr(config, name) < 1.0}
    if bad:
        listed = ", ".join(f"{name}={value}" for name, value in bad.items())
        raise ValueError(f"{type(config).__name__}: dropout rates must lie in [0, 1), got {listed}.")


def require_token_ids_in_vocab(config: PreTrainedConfig, names: Iterable[str]) -> None:
    """Raise a `ValueError` for a special token id outside `[0, vocab_size)` or the target vocabulary: pad and eos
    are used on both sides, bos and the decoder start on the target side, so each must fit the smaller one."""
    sizes = {"vocab_size": config.vocab_size, "decoder_vocab_size": getattr(config, "decoder_vocab_size", None)}
    for name in names:
        value = getattr(config, name)
        for size_name, size in sizes.items():
            if value is not None and size is not None and not 0 <= value < size:
                raise ValueError(
                    f"{type(config).__name__}: {name}={value} is outside the vocabulary [0, {size}) of {size_name}. "
                    f"Set {name} to an id below {size_name}, or raise {size_name}."
                )


def require_joint_vocabulary_for_shared_embeddings(config: PreTrainedConfig, flag: str) -> None:
    """Raise when `flag` shares one embedding table between the source and target sides of different sizes."""
    if getattr(config, flag) and config.decoder_vocab_size != config.vocab_size:
        raise ValueError(
            f"{type(config).__name__}: {flag}=True shares one embedding table between the source and target sides, "
            f"but vocab_size={config.vocab_size} (source) differs from decoder_vocab_size={config.decoder_vocab_size} "
            f"(target). Set {flag}=False for separate vocabularies, or use one joint vocabulary."
        )
