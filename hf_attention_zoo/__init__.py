"""hf_attention_zoo: the classic attention models as first-class Hugging Face transformers models.

Importing the package registers every family of `registry.FAMILIES` with AutoConfig, AutoModel and the family's
head Auto class (AutoModelForSeq2SeqLM, or AutoModelForImageTextToText for the captioner), and for saving with remote code.

Where things live: `models/` is the code every saved model folder carries (nothing else); `data/`, `training/`,
`generation/`, `evaluation/`, `export/` and `hub/` are the tools around it; `registry.py` describes each family once.
"""

import transformers
from transformers import AutoConfig, AutoModel

from .models.configuration_rnn_seq2seq import RNN_PRESETS, RNNSeq2SeqConfig
from .models.configuration_show_attend_tell import ShowAttendTellConfig
from .models.modeling_show_attend_tell import (
    ShowAttendTellForConditionalGeneration,
    ShowAttendTellModel,
    ShowAttendTellPreTrainedModel,
)
from .models.configuration_transformer import TRANSFORMER_PRESETS, TransformerSeq2SeqConfig
from .models.modeling_rnn_seq2seq import RNNSeq2SeqForConditionalGeneration, RNNSeq2SeqModel, RNNSeq2SeqPreTrainedModel
from .models.modeling_transformer import (
    TransformerSeq2SeqForConditionalGeneration,
    TransformerSeq2SeqModel,
    TransformerSeq2SeqPreTrainedModel,
)
from .models.zoo_pretrained import TRANSLATION_TASK
from .models.rnn_cache import RNNDecoderCache
from .registry import FAMILIES
from .training.learning_rate_schedule import get_inverse_sqrt_schedule_with_warmup

for _family in FAMILIES.values():
    AutoConfig.register(_family.config_class.model_type, _family.config_class)
    AutoModel.register(_family.config_class, _family.base_model_class)
    getattr(transformers, _family.auto_class).register(_family.config_class, _family.head_class)
    # save_pretrained then copies the model code and writes auto_map, for trust_remote_code loading
    _family.config_class.register_for_auto_class()
    _family.base_model_class.register_for_auto_class("AutoModel")
    _family.head_class.register_for_auto_class(_family.auto_class)
del _family


def __getattr__(name: str):
    # The pipeline class imports transformers' pipelines (about 2 s), so it loads on first use only; importing
    # hf_attention_zoo.generation.translate also registers it as pipeline("zoo-translation", ...).
    if name == "ZooTranslationPipeline":
        from .generation.translate import ZooTranslationPipeline

        return ZooTranslationPipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "FAMILIES",
    "RNN_PRESETS",
    "RNNSeq2SeqConfig",
    "RNNSeq2SeqPreTrainedModel",
    "RNNSeq2SeqModel",
    "RNNSeq2SeqForConditionalGeneration",
    "RNNDecoderCache",
    "ShowAttendTellConfig",
    "ShowAttendTellPreTrainedModel",
    "ShowAttendTellModel",
    "ShowAttendTellForConditionalGeneration",
    "TRANSFORMER_PRESETS",
    "TransformerSeq2SeqConfig",
    "TransformerSeq2SeqPreTrainedModel",
    "TransformerSeq2SeqModel",
    "TransformerSeq2SeqForConditionalGeneration",
    "TRANSLATION_TASK",
    "ZooTranslationPipeline",
    "get_inverse_sqrt_schedule_with_warmup",
]
