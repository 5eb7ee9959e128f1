"""The recurrent decoder's cache: what an RNN decoder carries from one generation step to the next.

`generate()` treats whatever the model returns as its cache (`cache`, or `past_key_values` up to transformers 5.23:
see `transformers_compat`) as the next step's cache, and beam search calls
`reorder_cache(beam_idx)` on it after every step; nothing else of the `Cache` API is used by greedy, sampling
or beam search in transformers 5.x (see shared notes). Papers: Bahdanau et al. 2015 (arXiv:1409.0473),
Luong et al. 2015 (arXiv:1508.04025).
"""

import torch
from transformers.cache_utils import Cache


class RNNDecoderCache(Cache):
    """Decoder state after the tokens seen so far.

    Per hypothesis (reordered by beam search):
        hidden: decoder states of every layer, (batch, layers, hidden).
        cell: LSTM memory cells, (batch, layers, hidden); None for GRU / RNN cells.
        attentional: the last attentional vector h~_{t-1} for input feeding (Luong §3.3), (batch, hidden); None
            without input feeding.
    Per source (computed once when decoding starts, never reordered):
        keys: the source-only part of the attention score (e.g. U_a h_j), (batch, src_len, key_size); None
            without attention.
        summary: the fixed context of the context-vector seq2seq (Cho et al. 2014), (batch, encoder_size); None
            with attention.
    The per-source tensors stay aligned with `encoder_outputs`, which generate expands once per beam and never
    reorders (beam search only moves hypotheses between beams of the same source, whose sources are equal), so
    reordering them would copy identical rows at every step for nothing.
    """

    is_compileable = False

    def __init__(
        self,
        hidden: torch.Tensor,
        cell: torch.Tensor | None,
        attentional: torch.Tensor | None,
        keys: torch.Tensor | None,
        summary: torch.Tensor | None,
    ):
        super().__init__(layers=[])
        self.hidden = hidden
        self.cell = cell
        self.attentional = attentional
        self.keys = keys
        self.summary = summary
        self.seen_tokens = 0

    def __repr__(self) -> str:
        return f"RNNDecoderCache(batch={self.hidden.shape[0]}, layers={self.hidden.shape[1]}, seen_tokens={self.seen_tokens})"

    def __len__(self) -> int:
        return self.hidden.shape[1]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """Number of target tokens already consumed."""
        return self.seen_tokens

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Keep the states of the hypotheses beam search selected: index_select along the batch dim."""
        self.hidden = self.hidden.index_select(0, beam_idx.to(self.hidden.device))
        if self.cell is not None:
            self.cell = self.cell.index_select(0, beam_idx.to(self.cell.device))
        if self.attentional is not None:
            self.attentional = self.attentional.index_select(0, beam_idx.to(self.attentional.device))


__all__ = ["RNNDecoderCache"]
