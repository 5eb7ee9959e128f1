"""The model families of the zoo, each described once: its classes, presets, Auto class, model-card template and tags,
and the training defaults the scripts start from. The package's `__init__`, the training options, the scripts, the
model cards and the exporters all read this table; adding a family means its own files under `models/`, a card
template under `model_cards/`, and one `register_family(...)` entry below.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from transformers import PreTrainedConfig, PreTrainedModel

from .models.configuration_rnn_seq2seq import RNN_PRESETS, RNNSeq2SeqConfig
from .models.configuration_show_attend_tell import ShowAttendTellConfig
from .models.configuration_transformer import TRANSFORMER_PRESETS, TransformerSeq2SeqConfig
from .models.modeling_rnn_seq2seq import RNNSeq2SeqForConditionalGeneration, RNNSeq2SeqModel
from .models.modeling_show_attend_tell import ShowAttendTellForConditionalGeneration, ShowAttendTellModel
from .models.modeling_transformer import TransformerSeq2SeqForConditionalGeneration, TransformerSeq2SeqModel


@dataclass(frozen=True)
class ModelFamily:
    """One family of models.

    Attributes:
        name: the command-line name (`--family rnn`).
        config_class, base_model_class, head_class: the config, the model without its head (`AutoModel`) and the
            model with it (`auto_class`).
        auto_class: the Auto class of the head, e.g. "AutoModelForSeq2SeqLM".
        presets: preset name -> config fields (`config_class.from_preset(name)`); `default_preset` is the scripts'.
        card_template: the file of the top-level `model_cards/` folder this family's cards are rendered from.
        card_tags: config -> the Hub tags naming the architecture.
        pipeline_tag: the Hub task of the family's cards.
        training_defaults: the scripts' defaults for this family, as `Seq2SeqTrainingArguments` fields
            (train.py passes them as flags before the command line's; train_no_trainer.py reads the same values).
        lr_schedule: "paper" (Vaswani et al. §5.3: `learning_rate` multiplies d_model^-0.5 ...) or "trainer".
        exports: the inference engines the family exports to (see `hf_attention_zoo.export`).
    """

    name: str
    config_class: type[PreTrainedConfig]
    base_model_class: type[PreTrainedModel]
    head_class: type[PreTrainedModel]
    auto_class: str
    presets: Mapping[str, dict]
    default_preset: str
    card_template: str
    card_tags: Callable[[PreTrainedConfig], list[str]]
    training_defaults: Mapping[str, object]
    lr_schedule: str = "trainer"
    pipeline_tag: str = "translation"
    exports: tuple[str, ...] = field(default=())


FAMILIES: dict[str, ModelFamily] = {}


def register_family(family: ModelFamily) -> ModelFamily:
    if family.name in FAMILIES:
        raise ValueError(f"A family named {family.name!r} is registered already.")
    FAMILIES[family.name] = family
    return family


def family_of(config: PreTrainedConfig) -> ModelFamily:
    """The family of a config instance (or class); a `TypeError` naming the registered families otherwise."""
    config_class = config if isinstance(config, type) else type(config)
    for family in FAMILIES.values():
        if config_class is family.config_class:
            return family
    raise TypeError(
        f"{config_class.__name__} is not the config of a zoo family; registered: "
        + ", ".join(f"{family.name} ({family.config_class.__name__})" for family in FAMILIES.values())
    )


def get_family(name: str) -> ModelFamily:
    if name not in FAMILIES:
        raise ValueError(f"Unknown model family {name!r}. Choose one of: {', '.join(FAMILIES)}.")
    return FAMILIES[name]


def _rnn_tags(config: RNNSeq2SeqConfig) -> list[str]:
    attention = [] if config.attention_type == "none" else [f"{config.attention_wiring}-attention"]
    return ["rnn", config.cell_type, *attention]


register_family(ModelFamily(
    name="rnn",
    config_class=RNNSeq2SeqConfig,
    base_model_class=RNNSeq2SeqModel,
    head_class=RNNSeq2SeqForConditionalGeneration,
    auto_class="AutoModelForSeq2SeqLM",
    presets=RNN_PRESETS,
    default_preset="small",
    card_template="rnn_seq2seq.md",
    card_tags=_rnn_tags,
    training_defaults={"num_train_epochs": 3, "learning_rate": 2e-3, "warmup_steps": 50, "adam_beta2": 0.999,
                       "adam_epsilon": 1e-8, "label_smoothing_factor": 0.0},
))

register_family(ModelFamily(
    name="transformer",
    config_class=TransformerSeq2SeqConfig,
    base_model_class=TransformerSeq2SeqModel,
    head_class=TransformerSeq2SeqForConditionalGeneration,
    auto_class="AutoModelForSeq2SeqLM",
    presets=TRANSFORMER_PRESETS,
    default_preset="small",
    card_template="transformer.md",
    card_tags=lambda config: ["transformer"],
    # §5.3-5.4: Adam(0.9, 0.98, 1e-9), the inverse-square-root schedule (learning_rate 1.0 = the paper's rates),
    # label smoothing 0.1. Deviation from paper: 400 warm-up steps instead of 4000 (the built-in task trains ~1000
    # steps); pass --warmup_steps 4000 for the paper's.
    training_defaults={"num_train_epochs": 3, "learning_rate": 1.0, "warmup_steps": 400, "adam_beta2": 0.98,
                       "adam_epsilon": 1e-9, "label_smoothing_factor": 0.1},
    lr_schedule="paper",
    exports=("ctranslate2",),
))


def _captioning_tags(config: ShowAttendTellConfig) -> list[str]:
    tags = ["image-captioning", "show-attend-tell", "lstm"]
    tags += ["soft-attention"] if config.attention_type == "soft" else ["no-attention-baseline"]
    return tags + (["self-attention-gan"] if config.feature_self_attention else [])


register_family(ModelFamily(
    name="show_attend_tell",
    config_class=ShowAttendTellConfig,
    base_model_class=ShowAttendTellModel,
    head_class=ShowAttendTellForConditionalGeneration,
    auto_class="AutoModelForImageTextToText",
    # "shapes": the sizes of the built-in synthetic shapes task (scripts/train_captioner.py), without the doubly
    # stochastic regulariser: it spreads the attention over the background (measured in the README: pointing mass
    # 0.26 with λ = 1, 0.31 with 0.2, 0.64 with 0). "shapes-baseline": the same without attention (the mean
    # annotation as a fixed context), Xu et al.'s comparison point.
    presets={
        "shapes": dict(image_size=64, cnn_channels=[32, 64, 128], embedding_size=64, hidden_size=256,
                       attention_hidden_size=128, dropout=0.3, doubly_stochastic_weight=0.0),
        "shapes-baseline": dict(image_size=64, cnn_channels=[32, 64, 128], embedding_size=64, hidden_size=256,
                                attention_hidden_size=128, dropout=0.3, attention_type="none",
                                doubly_stochastic_weight=0.0),
    },
    default_preset="shapes",
    card_template="show_attend_tell.md",
    card_tags=_captioning_tags,
    # Adam 1e-3 as the paper's Flickr/COCO runs (§5.2 use RMSProp / Adam); no label smoothing.
    training_defaults={"num_train_epochs": 12, "learning_rate": 2e-3, "warmup_steps": 50, "adam_beta2": 0.999,
                       "adam_epsilon": 1e-8, "label_smoothing_factor": 0.0},
    pipeline_tag="image-to-text",
))

__all__ = ["FAMILIES", "ModelFamily", "family_of", "get_family", "register_family"]
