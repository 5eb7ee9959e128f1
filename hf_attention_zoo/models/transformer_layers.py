"""The layers of the Transformer of "Attention Is All You Need" (Vaswani et al. 2017, arXiv:1706.03762): the
position-wise feed-forward network, the residual-and-LayerNorm wrapper, and the encoder and decoder layers that
modeling_transformer.py stacks."""

import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.cache_utils import EncoderDecoderCache
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_transformer import TransformerSeq2SeqConfig
from .transformer_attention import MultiHeadAttention


class PositionwiseFeedForward(nn.Module):
    """§3.3 eq. 2: FFN(x) = max(0, x W1 + b1) W2 + b2, applied to each position. `(batch, len, d_model)` in and out."""

    def __init__(self, config: TransformerSeq2SeqConfig, ffn_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, ffn_dim)  # W1, b1
        self.activation_fn = ACT2FN[config.activation_function]
        # Deviation from paper: optional dropout after the activation (tensor2tensor's relu_dropout), 0.0 by default.
        self.activation_dropout = config.activation_dropout
        self.fc2 = nn.Linear(ffn_dim, config.d_model)  # W2, b2

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.activation_fn(self.fc1(hidden_states))  # (batch, len, d_ff)
        hidden_states = nn.functional.dropout(hidden_states, p=self.activation_dropout, training=self.training)
        return self.fc2(hidden_states)


class SublayerConnection(nn.Module):
    """§3.1 and §5.4: the residual connection and layer normalisation around each sub-layer.

    Post-LN (the paper): LayerNorm(x + Dropout(Sublayer(x))). Pre-LN (`normalize_before=True`):
    x + Dropout(Sublayer(LayerNorm(x))). Use: `y = self(x, sublayer(self.sublayer_input(x)))`.
    """

    def __init__(self, config: TransformerSeq2SeqConfig):
        super().__init__()
        self.layer_norm = nn.LayerNorm(config.d_model)
        self.dropout = config.dropout
        # Deviation from paper: optional pre-LN (Xiong et al. 2020), off by default.
        self.normalize_before = config.normalize_before

    def sublayer_input(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(hidden_states) if self.normalize_before else hidden_states

    def forward(self, residual: torch.Tensor, sublayer_output: torch.Tensor) -> torch.Tensor:
        hidden_states = residual + nn.functional.dropout(sublayer_output, p=self.dropout, training=self.training)
        return hidden_states if self.normalize_before else self.layer_norm(hidden_states)


class TransformerEncoderLayer(GradientCheckpointingLayer):
    """§3.1 encoder layer: multi-head self-attention, then a position-wise feed-forward network, each wrapped in a
    `SublayerConnection`. `(batch, src_len, d_model)` in and out."""

    def __init__(self, config: TransformerSeq2SeqConfig, layer_idx: int):
        super().__init__()
        relative = config.position_embedding_type == "relative"
        heads = config.encoder_attention_heads
        self.self_attn = MultiHeadAttention(config, heads, layer_idx, relative_positions=relative)
        self.self_attn_sublayer = SublayerConnection(config)
        self.feed_forward = PositionwiseFeedForward(config, config.encoder_ffn_dim)
        self.feed_forward_sublayer = SublayerConnection(config)

    def forward(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, attention_weights = self.self_attn(
            self.self_attn_sublayer.sublayer_input(hidden_states), attention_mask, output_attentions=output_attentions
        )
        hidden_states = self.self_attn_sublayer(hidden_states, attended)
        fed_forward = self.feed_forward(self.feed_forward_sublayer.sublayer_input(hidden_states))
        hidden_states = self.feed_forward_sublayer(hidden_states, fed_forward)
        return hidden_states, attention_weights


class TransformerDecoderLayer(GradientCheckpointingLayer):
    """§3.1 decoder layer: masked multi-head self-attention, multi-head attention over the encoder output, and a
    position-wise feed-forward network, each wrapped in a `SublayerConnection`. `(batch, tgt_len, d_model)` in and
    out."""

    def __init__(self, config: TransformerSeq2SeqConfig, layer_idx: int):
        super().__init__()
        relative = config.position_embedding_type == "relative"
        heads = config.decoder_attention_heads
        self.self_attn = MultiHeadAttention(config, heads, layer_idx, relative_positions=relative)
        self.self_attn_sublayer = SublayerConnection(config)
        self.encoder_attn = MultiHeadAttention(config, heads, layer_idx, is_cross_attention=True)
        self.encoder_attn_sublayer = SublayerConnection(config)
        self.feed_forward = PositionwiseFeedForward(config, config.decoder_ffn_dim)
        self.feed_forward_sublayer = SublayerConnection(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: EncoderDecoderCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        attended, self_weights = self.self_attn(
            self.self_attn_sublayer.sublayer_input(hidden_states),
            attention_mask,
            past_key_values=past_key_values,
            output_attentions=output_attentions,
        )
        hidden_states = self.self_attn_sublayer(hidden_states, attended)
        attended, cross_weights = self.encoder_attn(
            self.encoder_attn_sublayer.sublayer_input(hidden_states),
            encoder_attention_mask,
            key_value_states=encoder_hidden_states,
            past_key_values=past_key_values,
            output_attentions=output_attentions,
        )
        hidden_states = self.encoder_attn_sublayer(hidden_states, attended)
        fed_forward = self.feed_forward(self.feed_forward_sublayer.sublayer_input(hidden_states))
        hidden_states = self.feed_forward_sublayer(hidden_states, fed_forward)
        return hidden_states, self_weights, cross_weights


__all__ = ["PositionwiseFeedForward", "SublayerConnection", "TransformerEncoderLayer", "TransformerDecoderLayer"]
