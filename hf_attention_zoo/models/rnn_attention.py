"""Score functions of RNN attention: Bahdanau additive, and Luong dot / general / concat.

Papers: Bahdanau et al. 2015 (arXiv:1409.0473) §3.1, App. A.1.2; Luong et al. 2015 (arXiv:1508.04025) §3.1 eq. 8.
"""

import torch
from torch import nn


class RNNAttention(nn.Module):
    """Shared skeleton: alignment weights a = softmax(score(q, k)) over the source, context c = Σ_j a_j h_j.

    The work that depends only on the source (`precompute_keys`, e.g. U_a h_j of the additive score) is done
    once per source by the decoder and passed back in at every step: the module keeps no state.
    """

    def precompute_keys(self, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        """(batch, src_len, encoder_size) -> keys (batch, src_len, key_size) used by `score`."""
        return encoder_hidden_states

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """query (batch, tgt_len, hidden), keys (batch, src_len, key_size) -> scores (batch, tgt_len, src_len)."""
        raise NotImplementedError

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        encoder_attention_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from every query position to the unpadded source positions.

        Args:
            query: decoder states (batch, tgt_len, hidden).
            keys: `precompute_keys(encoder_hidden_states)`, (batch, src_len, key_size).
            encoder_hidden_states: the annotations h_j, (batch, src_len, encoder_size).
            encoder_attention_mask: 1 for real tokens, 0 for padding, (batch, src_len).

        Returns:
            context (batch, tgt_len, encoder_size) and alignment weights (batch, tgt_len, src_len); padded source
            positions get exactly zero weight.
        """
        scores = self.score(query, keys)  # (batch, tgt_len, src_len)
        padding = ~encoder_attention_mask.bool()[:, None, :]
        scores = scores.masked_fill(padding, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        context = weights @ encoder_hidden_states  # (batch, tgt_len, encoder_size)
        return context, weights


class AdditiveAttention(RNNAttention):
    """Bahdanau et al. 2015, §3.1 eq. 6 and App. A.1.2: e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j).

    U_a h_j does not depend on the decoder step, so it is computed once per source (`precompute_keys`),
    as the paper's App. A.1.2 notes.
    """

    def __init__(self, query_size: int, encoder_size: int, attention_hidden_size: int):
        super().__init__()
        self.query_projection = nn.Linear(query_size, attention_hidden_size, bias=False)  # W_a
        self.key_projection = nn.Linear(encoder_size, attention_hidden_size, bias=False)  # U_a
        # v_a is a parameter of this module itself (not a child Linear), which also lets transformers' weight
        # initialisation visit the module and apply the paper's scheme (see RNNSeq2SeqPreTrainedModel).
        self.v_a = nn.Parameter(torch.zeros(attention_hidden_size))

    def precompute_keys(self, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        return self.key_projection(encoder_hidden_states)  # (batch, src_len, attention_hidden)

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        projected = self.query_projection(query)  # (batch, tgt_len, attention_hidden)
        hidden = torch.tanh(projected.unsqueeze(2) + keys.unsqueeze(1))  # (batch, tgt_len, src_len, attention_hidden)
        return hidden @ self.v_a  # (batch, tgt_len, src_len)


class ConcatAttention(AdditiveAttention):
    """Luong et al. 2015, eq. 8 "concat": score(h_t, h_s) = v_a^T tanh(W_a [h_t; h_s]).

    Splitting W_a = [W_q, W_k] column-wise gives v_a^T tanh(W_q h_t + W_k h_s): the same function as Bahdanau's
    additive score, so the W_k h_s half is precomputed once per source. The two names are kept so that a config
    reads like the paper it reproduces; they differ in which decoder state queries (the wiring), not in the score.
    """


class DotAttention(RNNAttention):
    """Luong et al. 2015, eq. 8 "dot": score(h_t, h_s) = h_t^T h_s (needs equal sizes; the config checks)."""

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return query @ keys.transpose(1, 2)  # (batch, tgt_len, src_len)


class GeneralAttention(DotAttention):
    """Luong et al. 2015, eq. 8 "general": score(h_t, h_s) = h_t^T W_a h_s.

    W_a h_s is computed once per source (`precompute_keys`); each step is then a dot product.
    """

    def __init__(self, query_size: int, encoder_size: int):
        super().__init__()
        self.key_projection = nn.Linear(encoder_size, query_size, bias=False)  # W_a

    def precompute_keys(self, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        return self.key_projection(encoder_hidden_states)  # (batch, src_len, hidden)


def build_rnn_attention(
    attention_type: str, query_size: int, encoder_size: int, attention_hidden_size: int
) -> RNNAttention | None:
    """The score module named by `config.attention_type`; None for "none" (the context-vector seq2seq)."""
    builders = {
        "none": lambda: None,
        "additive": lambda: AdditiveAttention(query_size, encoder_size, attention_hidden_size),
        "concat": lambda: ConcatAttention(query_size, encoder_size, attention_hidden_size),
        "dot": lambda: DotAttention(),
        "general": lambda: GeneralAttention(query_size, encoder_size),
    }
    if attention_type not in builders:
        raise ValueError(f"Unknown attention_type {attention_type!r}; choose one of {', '.join(builders)}.")
    return builders[attention_type]()


__all__ = [
    "RNNAttention",
    "AdditiveAttention",
    "ConcatAttention",
    "DotAttention",
    "GeneralAttention",
    "build_rnn_attention",
]
