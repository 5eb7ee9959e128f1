"""hf_attention_zoo: the classic attention models as first-class Hugging Face transformers models.

Importing the package registers every config and model with AutoConfig, AutoModel and AutoModelForSeq2SeqLM.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from .configuration_rnn_seq2seq import RNN_PRESETS, RNNSeq2SeqConfig
from .modeling_rnn_seq2seq import RNNSeq2SeqForConditionalGeneration, RNNSeq2SeqModel, RNNSeq2SeqPreTrainedModel
from .rnn_cache import RNNDecoderCache
from .configuration_transformer import TransformerSeq2SeqConfig
from .learning_rate_schedule import get_inverse_sqrt_schedule_with_warmup
from .modeling_transformer import (
    TransformerSeq2SeqForConditionalGeneration,
    TransformerSeq2SeqModel,
    TransformerSeq2SeqPreTrainedModel,
)

for config_class, base_class, lm_class in (
    (RNNSeq2SeqConfig, RNNSeq2SeqModel, RNNSeq2SeqForConditionalGeneration),
    (TransformerSeq2SeqConfig, TransformerSeq2SeqModel, TransformerSeq2SeqForConditionalGeneration),
):
    AutoConfig.register(config_class.model_type, config_class)
    AutoModel.register(config_class, base_class)
    AutoModelForSeq2SeqLM.register(config_class, lm_class)
    # save_pretrained then copies the model code and writes auto_map, for trust_remote_code loading
    config_class.register_for_auto_class()
    base_class.register_for_auto_class("AutoModel")
    lm_class.register_for_auto_class("AutoModelForSeq2SeqLM")
del config_class, base_class, lm_class

__all__ = [
    "RNN_PRESETS",
    "RNNSeq2SeqConfig",
    "RNNSeq2SeqPreTrainedModel",
    "RNNSeq2SeqModel",
    "RNNSeq2SeqForConditionalGeneration",
    "RNNDecoderCache",
    "TransformerSeq2SeqConfig",
    "TransformerSeq2SeqPreTrainedModel",
    "TransformerSeq2SeqModel",
    "TransformerSeq2SeqForConditionalGeneration",
    "get_inverse_sqrt_schedule_with_warmup",
]
