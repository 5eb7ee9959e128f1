"""Hand-written PyTorch peers for scripts/benchmark: what a user would write without transformers.

- `TorchTransformerSeq2Seq`: `torch.nn.Transformer` with shared embeddings × √d_model, sinusoidal positions and a
  tied output projection (Vaswani et al. 2017, arXiv:1706.03762, §3.4–3.5).
- `GRUAttentionSeq2Seq`: a bidirectional-GRU encoder and a GRU decoder with Bahdanau (additive, arXiv:1409.0473)
  or Luong ("general", no input feeding, arXiv:1508.04025) attention, plus a greedy loop and a beam-search loop.

They are baselines written from the papers, not copies of hf_attention_zoo: each has the parameter shapes of the zoo
configuration it is timed against (so the counts match; `tests/scripts/test_benchmark.py` checks them) and none of the
generality (no padding-aware packing, no cache object, no stopping at </s>: decoding always runs a fixed number
of steps with </s> banned, as `generate(min_new_tokens=n, max_new_tokens=n)` does).
"""

import math

import torch
from torch import nn


def sinusoidal_positions(length: int, d_model: int, device: torch.device | None = None) -> torch.Tensor:
    """§3.5: PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(same); `(length, d_model)` float32."""
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32, device=device) * (-math.log(1e4) / d_model))
    encoding = torch.zeros(length, d_model, device=device)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency)
    return encoding


class TorchTransformerSeq2Seq(nn.Module):
    """`torch.nn.Transformer` (post-LN, ReLU, dropout 0) as a translation model.

    The stacks are built without nn.Transformer's final LayerNorms (the paper's post-LN has none), so the only
    parameter difference to the zoo Transformer is nn.MultiheadAttention's q/k/v/out biases (4 × d_model per
    attention block), which the zoo model (the paper's W^Q, W^K, W^V, W^O) does not have.
    """

    def __init__(self, vocab_size: int, d_model: int, heads: int, encoder_layers: int, decoder_layers: int,
                 ffn_dim: int, pad_token_id: int, decoder_start_token_id: int):
        super().__init__()
        self.pad_token_id, self.decoder_start_token_id, self.d_model = pad_token_id, decoder_start_token_id, d_model
        self.embed_tokens = nn.Embedding(vocab_size, d_model)  # shared by source, target and output (§3.4)
        encoder_layer = nn.TransformerEncoderLayer(d_model, heads, ffn_dim, dropout=0.0, batch_first=True)
        decoder_layer = nn.TransformerDecoderLayer(d_model, heads, ffn_dim, dropout=0.0, batch_first=True)
        self.transformer = nn.Transformer(
            d_model, heads, batch_first=True,
            custom_encoder=nn.TransformerEncoder(encoder_layer, encoder_layers, enable_nested_tensor=False),
            custom_decoder=nn.TransformerDecoder(decoder_layer, decoder_layers),
        )
        nn.init.normal_(self.embed_tokens.weight, std=0.02)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        hidden = self.embed_tokens(ids) * math.sqrt(self.d_model)  # (batch, len, d_model)
        return hidden + sinusoidal_positions(ids.shape[1], self.d_model, ids.device).to(hidden.dtype)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """input_ids `(batch, src_len)`, labels `(batch, tgt_len)` -> mean token cross-entropy (pad ignored)."""
        decoder_input_ids = torch.cat([torch.full_like(labels[:, :1], self.decoder_start_token_id), labels[:, :-1]], 1)
        tgt_len = labels.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_len, device=labels.device)
        source_padding = input_ids == self.pad_token_id
        hidden = self.transformer(
            self.embed(input_ids), self.embed(decoder_input_ids), tgt_mask=causal, tgt_is_causal=True,
            src_key_padding_mask=source_padding, memory_key_padding_mask=source_padding,
        )  # (batch, tgt_len, d_model)
        logits = hidden @ self.embed_tokens.weight.T  # tied output projection, (batch, tgt_len, vocab)
        return nn.functional.cross_entropy(
            logits.float().flatten(0, 1), labels.flatten(), ignore_index=self.pad_token_id
        )


class GRUAttentionSeq2Seq(nn.Module):
    """A bidirectional GRU encoder and a one-layer GRU decoder with attention, in one of two wirings.

    "bahdanau" (Bahdanau et al. §3.1, App. A): c_i = Σ_j softmax(v^T tanh(W s_{i-1} + U h_j)) h_j;
        s_i = GRU([E y_{i-1}; c_i], s_{i-1}); logits = W_o maxout([s_i; c_i; E y_{i-1}]).
    "luong" (Luong et al. §3, "general" score, no input feeding): h_t = GRU(E y_{t-1}, h_{t-1}) for every t at
        once; c_t = Σ_s softmax(h_t^T W_a h_s) h_s; logits = W_o tanh(W_c [c_t; h_t]).
    Both start from s_0 = tanh(W_s [h→_last; h←_first]). Sizes: embeddings m, decoder n, encoder n per direction,
    attention hidden n (the zoo's defaults for these sizes).
    """

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, wiring: str,
                 decoder_start_token_id: int, eos_token_id: int):
        super().__init__()
        if wiring not in ("bahdanau", "luong"):
            raise ValueError(f"wiring must be 'bahdanau' or 'luong', got {wiring!r}.")
        self.wiring, self.decoder_start_token_id, self.eos_token_id = wiring, decoder_start_token_id, eos_token_id
        m, n = embedding_size, hidden_size
        self.source_embedding = nn.Embedding(vocab_size, m)
        self.target_embedding = nn.Embedding(vocab_size, m)
        self.encoder = nn.GRU(m, n, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * n, n)  # W_s
        self.output = nn.Linear(n, vocab_size, bias=False)  # W_o
        if wiring == "bahdanau":
            self.decoder = nn.GRUCell(m + 2 * n, n)
            self.query = nn.Linear(n, n, bias=False)  # W_a
            self.key = nn.Linear(2 * n, n, bias=False)  # U_a
            self.v = nn.Parameter(torch.randn(n) * 0.01)  # v_a
            self.maxout = nn.Linear(n + 2 * n + m, 2 * n)  # max over pairs -> n units
        else:
            self.decoder = nn.GRU(m, n, batch_first=True)
            self.key = nn.Linear(2 * n, n, bias=False)  # W_a of the general score
            self.combine = nn.Linear(2 * n + n, n, bias=False)  # W_c

    def encode(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(batch, src_len)` -> annotations `(batch, src_len, 2n)`, keys `(batch, src_len, n)`, s_0 `(batch, n)`."""
        annotations, _ = self.encoder(self.source_embedding(input_ids))
        n = annotations.shape[-1] // 2
        summary = torch.cat([annotations[:, -1, :n], annotations[:, 0, n:]], dim=-1)
        return annotations, self.key(annotations), torch.tanh(self.bridge(summary))

    @staticmethod
    def attend(scores: torch.Tensor, annotations: torch.Tensor) -> torch.Tensor:
        """scores `(batch, steps, src_len)` -> context `(batch, steps, 2n)`."""
        return torch.softmax(scores, dim=-1) @ annotations

    def bahdanau_step(self, embedded, state, annotations, keys):
        """embedded `(batch, m)`, state s_{i-1} `(batch, n)` -> pre-softmax output `(batch, n)`, s_i."""
        scores = torch.tanh(self.query(state)[:, None, :] + keys) @ self.v  # (batch, src_len)
        context = self.attend(scores[:, None, :], annotations)[:, 0]  # (batch, 2n)
        state = self.decoder(torch.cat([embedded, context], dim=-1), state)
        units = self.maxout(torch.cat([state, context, embedded], dim=-1))  # (batch, 2n)
        return units.view(units.shape[0], -1, 2).amax(dim=-1), state

    def luong_steps(self, embedded, state, annotations, keys):
        """embedded `(batch, steps, m)`, state `(batch, n)` -> outputs `(batch, steps, n)`, last state."""
        top, final = self.decoder(embedded, state[None])  # (batch, steps, n)
        context = self.attend(top @ keys.transpose(1, 2), annotations)  # (batch, steps, 2n)
        return torch.tanh(self.combine(torch.cat([context, top], dim=-1))), final[0]

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Teacher-forced mean token cross-entropy; input_ids `(batch, src_len)`, labels `(batch, tgt_len)`."""
        annotations, keys, state = self.encode(input_ids)
        previous = torch.cat([torch.full_like(labels[:, :1], self.decoder_start_token_id), labels[:, :-1]], dim=1)
        embedded = self.target_embedding(previous)  # (batch, tgt_len, m)
        if self.wiring == "luong":
            outputs, _ = self.luong_steps(embedded, state, annotations, keys)
        else:
            steps = []
            for t in range(labels.shape[1]):
                output, state = self.bahdanau_step(embedded[:, t], state, annotations, keys)
                steps.append(output)
            outputs = torch.stack(steps, dim=1)  # (batch, tgt_len, n)
        return nn.functional.cross_entropy(self.output(outputs).flatten(0, 1), labels.flatten())

    def next_log_probs(self, tokens, state, annotations, keys):
        """tokens `(rows,)` -> log p(next | ...) `(rows, vocab)` with </s> banned, and the new state."""
        embedded = self.target_embedding(tokens)
        if self.wiring == "luong":
            output, state = self.luong_steps(embedded[:, None], state, annotations, keys)
            output = output[:, 0]
        else:
            output, state = self.bahdanau_step(embedded, state, annotations, keys)
        log_probs = torch.log_softmax(self.output(output), dim=-1)
        log_probs[:, self.eos_token_id] = -math.inf  # fixed output length: </s> never wins
        return log_probs, state

    @torch.no_grad()
    def greedy(self, input_ids: torch.Tensor, num_tokens: int) -> torch.Tensor:
        """Argmax decoding of exactly `num_tokens` tokens: `(batch, src_len)` -> `(batch, num_tokens)`."""
        annotations, keys, state = self.encode(input_ids)
        tokens = torch.full((input_ids.shape[0],), self.decoder_start_token_id, dtype=torch.long)
        generated = []
        for _ in range(num_tokens):
            log_probs, state = self.next_log_probs(tokens, state, annotations, keys)
            tokens = log_probs.argmax(dim=-1)
            generated.append(tokens)
        return torch.stack(generated, dim=1)

    @torch.no_grad()
    def beam_search(self, input_ids: torch.Tensor, num_beams: int, num_tokens: int) -> torch.Tensor:
        """Beam search over one source `(1, src_len)` for exactly `num_tokens` tokens; the best hypothesis
        `(1, num_tokens)`. With a fixed length every hypothesis has the same length, so no length penalty."""
        if input_ids.shape[0] != 1:
            raise ValueError(f"beam_search decodes one source at a time, got a batch of {input_ids.shape[0]}.")
        annotations, keys, state = self.encode(input_ids)
        annotations, keys, state = (x.expand(num_beams, *x.shape[1:]).contiguous() for x in (annotations, keys, state))
        tokens = torch.full((num_beams,), self.decoder_start_token_id, dtype=torch.long)
        scores = torch.full((num_beams,), -math.inf)
        scores[0] = 0.0  # all beams start equal: expand only the first, or the top-k would hold k copies
        history = torch.empty(num_beams, 0, dtype=torch.long)
        for _ in range(num_tokens):
            log_probs, state = self.next_log_probs(tokens, state, annotations, keys)
            vocab = log_probs.shape[-1]
            scores, flat = (scores[:, None] + log_probs).flatten().topk(num_beams)  # (num_beams,)
            beam, tokens = flat // vocab, flat % vocab
            history = torch.cat([history[beam], tokens[:, None]], dim=1)
            state = state[beam]
        return history[:1]


__all__ = ["sinusoidal_positions", "TorchTransformerSeq2Seq", "GRUAttentionSeq2Seq"]
