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

AutoConfig.register(RNNSeq2SeqConfig.model_type, RNNSeq2SeqConfig)
AutoModel.register(RNNSeq2SeqConfig, RNNSeq2SeqModel)
AutoModelForSeq2SeqLM.register(RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration)
RNNSeq2SeqConfig.register_for_auto_class()
RNNSeq2SeqModel.register_for_auto_class("AutoModel")
RNNSeq2SeqForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")

AutoConfig.register(TransformerSeq2SeqConfig.model_type, TransformerSeq2SeqConfig)
AutoModel.register(TransformerSeq2SeqConfig, TransformerSeq2SeqModel)
AutoModelForSeq2SeqLM.register(TransformerSeq2SeqConfig, TransformerSeq2SeqForConditionalGeneration)
TransformerSeq2SeqConfig.register_for_auto_class()
TransformerSeq2SeqModel.register_for_auto_class("AutoModel")
TransformerSeq2SeqForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")

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
