"""Recurrent pieces the RNN family needs beyond `torch.nn`: the GRU of the papers (reset gate before the recurrent
matrix), the index that reverses each row's real tokens (Sutskever et al. §3.3), and per-gate orthogonal init."""

import torch
from torch import nn
from transformers import initialization as init


def reverse_prefix_index(prefix_lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """(batch, seq_len) positions that reverse the first `prefix_lengths[b]` positions of each row and keep the rest
    in place. Applying it twice gives the identity, so the same index reads a row backwards and writes it back."""
    positions = torch.arange(seq_len, device=prefix_lengths.device).expand(prefix_lengths.shape[0], -1)
    lengths = prefix_lengths[:, None]
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def gather_positions(sequence: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`sequence` (batch, seq_len, size) with its positions reordered by `index` (batch, seq_len)."""
    return sequence.gather(1, index[..., None].expand(-1, -1, sequence.shape[-1]))


def orthogonal_per_gate_(weight: nn.Parameter) -> None:
    """Make each n×n gate block of a stacked recurrent matrix (gates·n, n) orthogonal, as Bahdanau et al. App. B.1
    do for U, U_z and U_r (Saxe et al. 2014), rather than the stack as a whole (whose blocks are then not).
    Skipped for weights transformers has loaded (`_is_hf_initialized`)."""
    if getattr(weight, "_is_hf_initialized", False):
        return
    hidden = weight.shape[1]
    for block in weight.unflatten(0, (-1, hidden)):
        init.orthogonal_(block)


class ResetBeforeGRU(nn.Module):
    """The GRU of Cho et al. 2014 (eqs. 5-8) and Bahdanau et al. 2015 (App. A.1.1, A.2.2), one layer:

        r = σ(W_r x + U_r h + b_r),  z = σ(W_z x + U_z h + b_z)
        h~ = tanh(W x + U (r ∘ h) + b)           # reset *before* the recurrent matrix
        h' = z ∘ h + (1 − z) ∘ h~                # Cho eq. 7 (Bahdanau swaps the roles of z and 1 − z)

    `nn.GRU` (cuDNN's variant) computes h~ = tanh(W x + b_in + r ∘ (U h + b_hn)) instead: the same weights give a
    different function. Parameter names and gate order (r, z, n) follow `nn.GRU`, with one bias per gate. The
    interface is `nn.GRU`'s with `batch_first=True`, plus `lengths` for right-padded rows (the packing `nn.GRU`
    needs): a padded row gives the states of the same row alone, zeros at its padded positions, and the backward
    direction starts at the row's last real token.
    """

    def __init__(self, input_size: int, hidden_size: int, bidirectional: bool = False):
        super().__init__()
        self.input_size, self.hidden_size, self.bidirectional = input_size, hidden_size, bidirectional
        for suffix in ("_l0", "_l0_reverse")[: 2 if bidirectional else 1]:
            self.register_parameter(f"weight_ih{suffix}", nn.Parameter(torch.empty(3 * hidden_size, input_size)))
            self.register_parameter(f"weight_hh{suffix}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size)))
            self.register_parameter(f"bias_ih{suffix}", nn.Parameter(torch.zeros(3 * hidden_size)))
        bound = hidden_size**-0.5  # nn.GRU's default, for use outside a PreTrainedModel
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bidirectional={self.bidirectional}"

    def _direction(self, inputs, hidden, lengths, suffix):
        weight_hh = getattr(self, f"weight_hh{suffix}")
        recurrent_gates, candidate_matrix = weight_hh[: 2 * self.hidden_size], weight_hh[2 * self.hidden_size :]
        projected = nn.functional.linear(inputs, getattr(self, f"weight_ih{suffix}"), getattr(self, f"bias_ih{suffix}"))
        input_gates, input_candidate = projected.split([2 * self.hidden_size, self.hidden_size], dim=-1)
        outputs = []
        for t in range(inputs.shape[1]):
            reset, update = torch.sigmoid(input_gates[:, t] + hidden @ recurrent_gates.T).chunk(2, dim=-1)
            candidate = torch.tanh(input_candidate[:, t] + (reset * hidden) @ candidate_matrix.T)
            new_hidden = update * hidden + (1 - update) * candidate
            if lengths is not None:
                real = (t < lengths)[:, None]
                new_hidden = torch.where(real, new_hidden, hidden)
                outputs.append(torch.where(real, new_hidden, torch.zeros_like(new_hidden)))
            else:
                outputs.append(new_hidden)
            hidden = new_hidden
        return torch.stack(outputs, dim=1), hidden

    def forward(self, inputs: torch.Tensor, state: torch.Tensor | None = None, lengths: torch.Tensor | None = None):
        """inputs (batch, seq_len, input_size), state (directions, batch, hidden) or None, lengths (batch,) or None
        -> outputs (batch, seq_len, directions · hidden), final state (directions, batch, hidden)."""
        batch, seq_len = inputs.shape[:2]
        if state is None:
            state = inputs.new_zeros(2 if self.bidirectional else 1, batch, self.hidden_size)
        if lengths is not None:
            lengths = lengths.to(inputs.device)
        forward_outputs, forward_final = self._direction(inputs, state[0], lengths, "_l0")
        if not self.bidirectional:
            return forward_outputs, forward_final[None]
        backward_index = reverse_prefix_index(
            lengths if lengths is not None else inputs.new_full((batch,), seq_len, dtype=torch.long), seq_len
        )
        backward_outputs, backward_final = self._direction(
            gather_positions(inputs, backward_index), state[1], lengths, "_l0_reverse"
        )
        outputs = torch.cat([forward_outputs, gather_positions(backward_outputs, backward_index)], dim=-1)
        return outputs, torch.stack([forward_final, backward_final])


__all__ = ["ResetBeforeGRU", "gather_positions", "orthogonal_per_gate_", "reverse_prefix_index"]
