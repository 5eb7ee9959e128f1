"""The model a training script builds: a family, a preset and any config field, chosen with one `ModelArguments`
dataclass (for `HfArgumentParser`) and turned into a config that matches the task's tokenizers."""

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from ..registry import FAMILIES, get_family


@dataclass
class ModelArguments:
    """The model of a training run (every field is a command-line option of the training scripts)."""

    family: str = field(default="rnn", metadata={"help": "Model family.", "choices": list(FAMILIES)})
    preset: str | None = field(
        default=None,
        metadata={"help": "A preset of the family's config (default: the family's own): "
                          + "; ".join(f"{name}: {', '.join(family.presets)}" for name, family in FAMILIES.items())
                          + "."},
    )
    config_overrides: str = field(
        default="", metadata={"help": "Comma-separated config fields, e.g. 'hidden_size=128,cell_type=lstm'."}
    )
    lr_schedule: Literal["auto", "paper", "trainer"] = field(
        default="auto",
        metadata={"help": "paper: the Transformer's §5.3 inverse-square-root schedule with --warmup_steps, "
                          "--learning_rate multiplying it (1.0 = the paper's rates); trainer: "
                          "--lr_scheduler_type; auto: the family's own (paper for the Transformer)."},
    )

    def __post_init__(self):
        family = get_family(self.family)
        self.preset = self.preset or family.default_preset
        if self.lr_schedule == "auto":
            self.lr_schedule = family.lr_schedule
        if self.lr_schedule == "paper" and "d_model" not in family.config_class.__dataclass_fields__:
            raise ValueError(f"--lr_schedule paper is the Transformer's (it scales with d_model); the {self.family} "
                             "family has no d_model: use --lr_schedule trainer.")


def parse_config_overrides(text: str) -> dict:
    """'a=1,b=true,c=lstm,d=[32,64]' -> {'a': 1, 'b': True, 'c': 'lstm', 'd': [32, 64]} (values parsed as JSON where
    they can be; a comma inside brackets belongs to a list)."""
    overrides = {}
    for item in filter(None, (part.strip() for part in re.split(r",(?![^\[]*\])", text))):
        if "=" not in item:
            raise ValueError(f"--config_overrides item {item!r} is not of the form name=value.")
        name, value = (part.strip() for part in item.split("=", 1))
        try:
            overrides[name] = json.loads(value.lower() if value.lower() in ("true", "false", "null") else value)
        except json.JSONDecodeError:
            overrides[name] = value
    return overrides


def build_model_config(model_args: ModelArguments, source_tokenizer, target_tokenizer):
    """The family's preset with the overrides, sized to the tokenizers and using their special-token ids.

    With separate vocabularies `vocab_size` is the source tokenizer's size and `decoder_vocab_size` the target's
    (Marian's convention), and the Transformer does not share its source and target embeddings: the same id means
    different tokens on the two sides. With one joint tokenizer both are its size.
    """
    if (source_tokenizer.pad_token_id, source_tokenizer.eos_token_id) != (
        target_tokenizer.pad_token_id, target_tokenizer.eos_token_id
    ):
        raise ValueError("The source and target tokenizers must use the same pad and eos ids.")
    fields = dict(
        vocab_size=len(source_tokenizer),
        decoder_vocab_size=len(target_tokenizer),
        pad_token_id=target_tokenizer.pad_token_id,
        bos_token_id=target_tokenizer.bos_token_id,
        eos_token_id=target_tokenizer.eos_token_id,
        decoder_start_token_id=target_tokenizer.bos_token_id,
    )
    config_class = get_family(model_args.family).config_class
    if source_tokenizer is not target_tokenizer and "share_encoder_decoder_embeddings" in config_class.__dataclass_fields__:
        fields["share_encoder_decoder_embeddings"] = False
    fields.update(parse_config_overrides(model_args.config_overrides))
    return config_class.from_preset(model_args.preset, **fields)
