"""Scaled dot-product and multi-head attention (§3.2), with Shaw et al.'s relative positions and a KV cache.

Papers: Vaswani et al. 2017 (arXiv:1706.03762); Shaw et al. 2018 (arXiv:1803.02155).
"""

from collections.abc import Callable

import torch
from torch import nn
from transformers.cache_utils import EncoderDecoderCache
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from .configuration_transformer import TransformerSeq2SeqConfig
from .positional_encoding import RelativePositionEmbedding


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, eq. 1: Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V (§3.2.1).

    The readable reference; `attn_implementation="sdpa"` swaps in torch's fused kernel with the same signature
    (transformers' attention interface).

    Args:
        module: the calling attention module (read for `training`).
        query: `(batch, heads, tgt_len, d_k)`.
        key: `(batch, heads, src_len, d_k)`.
        value: `(batch, heads, src_len, d_v)`.
        attention_mask: additive `(batch or 1, 1, tgt_len, src_len)`: 0 where attending is allowed, the dtype's
            minimum where not (padding, future positions), or None.
        scaling: 1 / sqrt(d_k).
        dropout: dropout probability on the attention weights.

    Returns:
        `(output, weights)`: `(batch, tgt_len, heads, d_v)` and `(batch, heads, tgt_len, src_len)`.
    """
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling  # (batch, heads, tgt_len, src_len)
    if attention_mask is not None:
        scores = scores + attention_mask
    weights = nn.functional.softmax(scores, dim=-1)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value)  # (batch, heads, tgt_len, d_v)
    return output.transpose(1, 2).contiguous(), weights


def relative_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    relative_keys: torch.Tensor,
    relative_values: torch.Tensor,
    scaling: float,
    dropout: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 1 with Shaw et al. 2018's relative position representations (their eqs. 3 and 4).

    e_ij = q_i (k_j + a^K_ij)^T / sqrt(d_k) and z_i = sum_j softmax(e)_ij (v_j + a^V_ij). The a^V term needs the
    attention weights themselves, which fused kernels do not return, so this eager function is the implementation
    for relative self-attention whatever `attn_implementation` says.

    Args:
        query, key, value, attention_mask, scaling, dropout: as in `eager_attention_forward`.
        relative_keys: a^K, `(tgt_len, src_len, d_k)`.
        relative_values: a^V, `(tgt_len, src_len, d_v)`.

    Returns:
        `(output, weights)`: `(batch, tgt_len, heads, d_v)` and `(batch, heads, tgt_len, src_len)`.
    """
    scores = torch.matmul(query, key.transpose(-1, -2))  # (batch, heads, tgt_len, src_len)
    scores = (scores + torch.einsum("bhqd,qkd->bhqk", query, relative_keys)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    weights = nn.functional.softmax(scores, dim=-1)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value) + torch.einsum("bhqk,qkd->bhqd", weights, relative_values)
    return output.transpose(1, 2).contiguous(), weights


def additive_attention_mask(
    key_padding_mask: torch.Tensor | None,
    query_length: int,
    key_length: int,
    is_causal: bool,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor | None:
    """Build the additive mask that eager attention and torch SDPA both accept.

    Args:
        key_padding_mask: `(batch, key_length)`, 1 for real tokens and 0 for padding, or None.
        query_length: number of queries; with `is_causal` they are the last `query_length` key positions (the
            decoder's new tokens after its cached ones).
        key_length: number of keys.
        is_causal: forbid attending to later positions (the decoder's masked self-attention, §3.2.3).
        dtype, device: of the attention scores.

    Returns:
        `(batch or 1, 1, query_length, key_length)`: 0 where allowed, the dtype's minimum where not; None when
        everything is allowed. A fully masked row (a padded query) gets uniform weights instead of NaN.
    """
    allowed = None
    if key_padding_mask is not None:
        if key_padding_mask.shape[-1] != key_length:
            raise ValueError(
                f"The attention mask covers {key_padding_mask.shape[-1]} positions but there are {key_length} keys. "
                f"Pass a mask of shape (batch, {key_length}) (for the decoder with a cache: past + new tokens)."
            )
        # No padding (every decoding step of an unpadded batch): no mask, so attention takes its unmasked path.
        if not bool(key_padding_mask.all()):
            allowed = key_padding_mask.to(device=device, dtype=torch.bool)[:, None, None, :]
    # One query after all the keys (a cached decoding step) may see every key: nothing to mask for causality.
    if is_causal and query_length > 1:
        query_positions = torch.arange(key_length - query_length, key_length, device=device)
        causal = query_positions[:, None] >= torch.arange(key_length, device=device)[None, :]  # (tgt, src)
        allowed = causal[None, None] if allowed is None else allowed & causal
    if allowed is None:
        return None
    # Build from a boolean mask (not by adding masks) so that two masked reasons never sum to -inf.
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


class MultiHeadAttention(nn.Module):
    """Vaswani et al. 2017 §3.2.2: MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,
    head_i = Attention(Q W^Q_i, K W^K_i, V W^V_i).

    Self-attention projects Q, K and V with one fused matrix [W^Q | W^K | W^V] (`qkv_proj`); cross-attention
    (§3.2.3 "encoder-decoder attention") projects the decoder queries with `q_proj` and the encoder output with
    the fused [W^K | W^V] (`kv_proj`). No biases, as in the paper's equations. With a cache, self-attention appends
    the new keys/values and cross-attention computes the encoder's keys/values once per source (Bart's
    `EncoderDecoderCache.is_updated` pattern).

    Inputs `(batch, tgt_len, d_model)` (+ encoder output `(batch, src_len, d_model)`), output the same shape
    as the queries, and the attention weights `(batch, heads, tgt_len, src_len)` when asked for.
    """

    def __init__(
        self,
        config: TransformerSeq2SeqConfig,
        num_heads: int,
        layer_idx: int,
        is_cross_attention: bool = False,
        relative_positions: bool = False,
    ):
        super().__init__()
        self.config = config
        self.num_heads = num_heads
        self.head_dim = config.d_model // num_heads  # d_k = d_v = d_model / h
        self.scaling = self.head_dim**-0.5
        # Deviation from paper: optional dropout on the attention weights (tensor2tensor), 0.0 by default.
        self.dropout = config.attention_dropout
        self.layer_idx = layer_idx
        self.is_cross_attention = is_cross_attention
        # Masks are always explicit (`additive_attention_mask`); this stops transformers' SDPA wrapper from
        # turning a missing mask into a causal one.
        self.is_causal = False
        if is_cross_attention:
            self.q_proj = nn.Linear(config.d_model, config.d_model, bias=False)
            self.kv_proj = nn.Linear(config.d_model, 2 * config.d_model, bias=False)
        else:
            self.qkv_proj = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.out_proj = nn.Linear(config.d_model, config.d_model, bias=False)  # W^O
        self.relative_positions = (
            RelativePositionEmbedding(config.max_relative_position, self.head_dim) if relative_positions else None
        )

    def _split_heads(self, states: torch.Tensor) -> torch.Tensor:
        """`(batch, len, d_model)` -> `(batch, heads, len, d_k)`."""
        return states.view(*states.shape[:-1], self.num_heads, self.head_dim).transpose(1, 2)

    def _project_keys_values(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None,
        past_key_values: EncoderDecoderCache | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values `(batch, heads, len, d_k)`, through the cache when there is one."""
        if past_key_values is not None and not isinstance(past_key_values, EncoderDecoderCache):
            raise TypeError(
                f"past_key_values must be a transformers EncoderDecoderCache (self- and cross-attention caches), "
                f"got {type(past_key_values).__name__}. Pass the object a previous forward returned, or None."
            )
        if not self.is_cross_attention:
            query, key, value = self.qkv_proj(hidden_states).chunk(3, dim=-1)
            query, key, value = self._split_heads(query), self._split_heads(key), self._split_heads(value)
            if past_key_values is not None:
                key, value = past_key_values.self_attention_cache.update(key, value, self.layer_idx)
            return query, key, value

        query = self._split_heads(self.q_proj(hidden_states))
        if past_key_values is not None and past_key_values.is_updated.get(self.layer_idx):
            # The source does not change while decoding: reuse the keys/values of the first step.
            layer_cache = past_key_values.cross_attention_cache.layers[self.layer_idx]
            return query, layer_cache.keys, layer_cache.values
        key, value = self.kv_proj(key_value_states).chunk(2, dim=-1)
        key, value = self._split_heads(key), self._split_heads(value)
        if past_key_values is not None:
            key, value = past_key_values.cross_attention_cache.update(key, value, self.layer_idx)
            past_key_values.is_updated[self.layer_idx] = True
        return query, key, value

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        key_value_states: torch.Tensor | None = None,
        past_key_values: EncoderDecoderCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Args:
            hidden_states: the queries' input `(batch, tgt_len, d_model)` (also keys/values for self-attention).
            attention_mask: additive `(batch or 1, 1, tgt_len, src_len)` from `additive_attention_mask`, or None.
            key_value_states: the encoder output `(batch, src_len, d_model)` for cross-attention.
            past_key_values: the decoder's cache, updated in place.
            output_attentions: also return the attention weights (runs the eager reference for this call).

        Returns:
            `(output (batch, tgt_len, d_model), weights (batch, heads, tgt_len, src_len) or None)`.
        """
        query, key, value = self._project_keys_values(hidden_states, key_value_states, past_key_values)
        dropout = self.dropout if self.training else 0.0
        if self.relative_positions is not None:
            relative_keys, relative_values = self.relative_positions(query.shape[2], key.shape[2])
            output, weights = relative_attention_forward(
                self, query, key, value, attention_mask, relative_keys, relative_values, self.scaling, dropout
            )
        else:
            # Fused kernels do not return the weights: output_attentions=True runs the eager reference.
            attention_function: Callable = (
                eager_attention_forward
                if output_attentions
                else ALL_ATTENTION_FUNCTIONS.get_interface(self.config._attn_implementation, eager_attention_forward)
            )
            output, weights = attention_function(
                self, query, key, value, attention_mask, dropout=dropout, scaling=self.scaling
            )
        output = self.out_proj(output.reshape(*hidden_states.shape[:-1], -1))  # Concat(heads) W^O
        return output, (weights if output_attentions else None)
