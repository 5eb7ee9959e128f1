"""Self-attention over a CNN's feature map: the SAGAN block.

Paper: Zhang et al. 2018, "Self-Attention Generative Adversarial Networks" (arXiv:1805.08318), §3.
"""

import torch
from torch import nn


class FeatureMapSelfAttention(nn.Module):
    """Zhang et al. §3: every position of a feature map attends to every other.

    With x the map as N = H·W column vectors of C channels (eq. 1-3):
        f(x) = W_f x, g(x) = W_g x, h(x) = W_h x      1×1 convolutions to C̄ = C/8 channels
        β_{j,i} = softmax_i(f(x_i)^T g(x_j))           how much position j attends to position i
        o_j = W_v Σ_i β_{j,i} h(x_i)                    a 1×1 convolution back to C channels
        y_i = γ o_i + x_i                              γ is learnt and starts at 0, so the block starts as the identity
    §3: "We use C̄ = C/8 in all our experiments" (for W_f, W_g and W_h).

    Input (batch, C, H, W); output the same shape and the attention (batch, H·W, H·W) with queries j in rows.
    """

    def __init__(self, channels: int):
        super().__init__()
        reduced = max(1, channels // 8)
        self.query = nn.Conv2d(channels, reduced, kernel_size=1)  # W_g: x_j asks
        self.key = nn.Conv2d(channels, reduced, kernel_size=1)  # W_f: x_i answers
        self.value = nn.Conv2d(channels, reduced, kernel_size=1)  # W_h
        self.output = nn.Conv2d(reduced, channels, kernel_size=1)  # W_v
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, feature_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, channels, height, width = feature_map.shape
        queries = self.query(feature_map).flatten(2).transpose(1, 2)  # (batch, N, C̄)
        keys = self.key(feature_map).flatten(2)  # (batch, C̄, N)
        values = self.value(feature_map).flatten(2).transpose(1, 2)  # (batch, N, C̄)
        attention = torch.softmax(queries @ keys, dim=-1)  # β: (batch, N queries j, N positions i)
        attended = (attention @ values).transpose(1, 2).reshape(batch, -1, height, width)  # (batch, C̄, H, W)
        return self.gamma * self.output(attended) + feature_map, attention


__all__ = ["FeatureMapSelfAttention"]
