"""hf_attention_zoo: the classic attention models as first-class Hugging Face transformers models.

Importing the package registers every family of `registry.FAMILIES` with AutoConfig, AutoModel and the family's
head Auto class (AutoModelForSeq2SeqLM), and for saving with remote code.

Where things live: `models/` is the code every saved model folder carries (nothing else); `data/`, `training/`,
`generation/`, `evaluation/`, `export/` and `hub/` are the tools around it; `registry.py` describes each family once.
"""

import transformers
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM
from transformers.pipelines import PIPELINE_REGISTRY

from .models.configuration_rnn_seq2seq import RNN_PRESETS, RNNSeq2SeqConfig
from .models.configuration_transformer import TRANSFORMER_PRESETS, TransformerSeq2SeqConfig
from .models.modeling_rnn_seq2seq import RNNSeq2SeqForConditionalGeneration, RNNSeq2SeqModel, RNNSeq2SeqPreTrainedModel
from .models.modeling_transformer import (
    TransformerSeq2SeqForConditionalGeneration,
    TransformerSeq2SeqModel,
    TransformerSeq2SeqPreTrainedModel,
)
from .models.pipeline_translation import TASK as TRANSLATION_TASK
from .models.pipeline_translation import ZooTranslationPipeline
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
# pipeline("zoo-translation", model=model, tokenizer=tokenizer) for models in memory; a saved folder names the
# pipeline in its config, so pipeline(model=folder, trust_remote_code=True) finds it without the package.
PIPELINE_REGISTRY.register_pipeline(TRANSLATION_TASK, pipeline_class=ZooTranslationPipeline,
                                    pt_model=AutoModelForSeq2SeqLM, type="text")

__all__ = [
    "FAMILIES",
    "RNN_PRESETS",
    "RNNSeq2SeqConfig",
    "RNNSeq2SeqPreTrainedModel",
    "RNNSeq2SeqModel",
    "RNNSeq2SeqForConditionalGeneration",
    "RNNDecoderCache",
    "TRANSFORMER_PRESETS",
    "TransformerSeq2SeqConfig",
    "TransformerSeq2SeqPreTrainedModel",
    "TransformerSeq2SeqModel",
    "TransformerSeq2SeqForConditionalGeneration",
    "TRANSLATION_TASK",
    "ZooTranslationPipeline",
    "get_inverse_sqrt_schedule_with_warmup",
]
