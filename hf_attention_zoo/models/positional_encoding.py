"""Position information for the Transformer: sinusoidal and learned absolute encodings, relative representations.

Papers: Vaswani et al. 2017 §3.5 (arXiv:1706.03762); Shaw et al. 2018 (arXiv:1803.02155).
"""

import math

import torch
from torch import nn

from .configuration_transformer import TransformerSeq2SeqConfig


def sinusoidal_position_encoding(positions: torch.Tensor, d_model: int) -> torch.Tensor:
    """The fixed encodings of §3.5: PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(same).

    Args:
        positions: `(seq_len,)` absolute positions (any integers, no upper limit).
        d_model: an even width.

    Returns:
        `(seq_len, d_model)` float32 encodings, sines in the even dimensions and cosines in the odd ones.
    """
    # 1 / 10000^(2i/d_model) for i = 0 .. d_model/2 - 1, computed in log space for precision.
    inverse_frequencies = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32, device=positions.device) * (-math.log(10000.0) / d_model)
    )
    angles = positions.to(torch.float32)[:, None] * inverse_frequencies[None, :]  # (seq_len, d_model / 2)
    encoding = torch.empty(positions.shape[0], d_model, dtype=torch.float32, device=positions.device)
    encoding[:, 0::2] = torch.sin(angles)
    encoding[:, 1::2] = torch.cos(angles)
    return encoding


class SinusoidalPositionalEncoding(nn.Module):
    """Vaswani et al. 2017 §3.5: fixed sinusoidal encodings, added to the token embeddings.

    Computed on the fly for the positions asked for, so it has no parameters, nothing to save, and no length limit
    ("it may allow the model to extrapolate to sequence lengths longer than the ones encountered during training").
    """

    def __init__(self, d_model: int):
        super().__init__()
        self.d_model = d_model
        # Encodings computed so far, (positions, d_model) float32: a decoding step then slices one row instead of
        # launching the ~10 small ops that compute it. A plain attribute, not a buffer: nothing to save or cast.
        self._table: torch.Tensor | None = None

    def forward(self, inputs_embeds: torch.Tensor, past_length: int = 0) -> torch.Tensor:
        """Args:
            inputs_embeds: `(batch, seq_len, d_model)`, read for its length, dtype and device only.
            past_length: number of positions already decoded (from the cache); the first new position.

        Returns:
            `(seq_len, d_model)` encodings of positions `past_length .. past_length + seq_len - 1`.
        """
        end = past_length + inputs_embeds.shape[1]
        table = self._table
        if table is None or table.shape[0] < end or table.device != inputs_embeds.device:
            size = max(end, 256, 0 if table is None else 2 * table.shape[0])
            table = sinusoidal_position_encoding(torch.arange(size, device=inputs_embeds.device), self.d_model)
            self._table = table
        return table[past_length:end].to(inputs_embeds.dtype)


class LearnedPositionalEmbedding(nn.Embedding):
    """Vaswani et al. 2017 §3.5 / Table 3 row (E): a learned table of absolute position embeddings.

    Unlike the sinusoids it has one row per position, so it cannot go past `max_position_embeddings`.
    """

    def __init__(self, max_position_embeddings: int, d_model: int):
        super().__init__(max_position_embeddings, d_model)

    def forward(self, inputs_embeds: torch.Tensor, past_length: int = 0) -> torch.Tensor:
        """Args:
            inputs_embeds: `(batch, seq_len, d_model)`, read for its length only.
            past_length: number of positions already decoded (from the cache); the first new position.

        Returns:
            `(seq_len, d_model)` rows `past_length .. past_length + seq_len - 1` of the table.
        """
        end = past_length + inputs_embeds.shape[1]
        max_positions = self.weight.shape[0]
        if end > max_positions:
            raise ValueError(
                f"A sequence of length {end} needs position {end - 1}, but the learned position table has only "
                f"max_position_embeddings={max_positions} rows (positions 0..{max_positions - 1}). Use inputs of at "
                f"most {max_positions} tokens (truncate, or lower max_length/max_new_tokens in generate), or train a "
                f"model with a larger max_position_embeddings or position_embedding_type='sinusoidal'."
            )
        positions = torch.arange(past_length, end, device=self.weight.device)
        return super().forward(positions)


class RelativePositionEmbedding(nn.Module):
    """Shaw et al. 2018 §3: learned representations of the clipped distance j - i between a query i and a key j.

    a^K_ij = w^K_clip(j - i, k) and a^V_ij = w^V_clip(j - i, k) with clip(x, k) = max(-k, min(k, x)) (§3.2),
    one table of 2k + 1 vectors per self-attention layer, shared by its heads. The attention adds them to the keys
    (eq. 4, the logits) and to the values (eq. 3, the output), see `transformer_attention.relative_attention_forward`.
    """

    def __init__(self, max_relative_position: int, head_dim: int):
        super().__init__()
        self.max_relative_position = max_relative_position
        self.keys = nn.Embedding(2 * max_relative_position + 1, head_dim)  # w^K_{-k..k}
        self.values = nn.Embedding(2 * max_relative_position + 1, head_dim)  # w^V_{-k..k}

    def forward(self, query_length: int, key_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Args:
            query_length: number of queries; they are the last `query_length` of the `key_length` positions (the
                decoder's new tokens after its cached ones, or all positions when both lengths are equal).
            key_length: number of keys, positions `0 .. key_length - 1`.

        Returns:
            `(a_K, a_V)`, each `(query_length, key_length, head_dim)`.
        """
        device = self.keys.weight.device
        query_positions = torch.arange(key_length - query_length, key_length, device=device)
        key_positions = torch.arange(key_length, device=device)
        distance = key_positions[None, :] - query_positions[:, None]  # (query_length, key_length): j - i
        k = self.max_relative_position
        index = distance.clamp(-k, k) + k  # clip(j - i, k), shifted to 0 .. 2k
        return self.keys(index), self.values(index)


def build_absolute_position_encoding(config: TransformerSeq2SeqConfig) -> nn.Module | None:
    """The module that adds absolute positions to the embeddings, or None for relative positions (Shaw et al.
    2018 replace the absolute encodings; the relative ones live inside self-attention)."""
    if config.position_embedding_type == "sinusoidal":
        return SinusoidalPositionalEncoding(config.d_model)
    if config.position_embedding_type == "learned":
        return LearnedPositionalEmbedding(config.max_position_embeddings, config.d_model)
    if config.position_embedding_type == "relative":
        return None
    raise ValueError(
        f"Unknown position_embedding_type={config.position_embedding_type!r}; use 'sinusoidal', 'learned' or "
        f"'relative'."
    )
