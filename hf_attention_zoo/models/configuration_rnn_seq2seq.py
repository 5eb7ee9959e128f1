"""Configuration of the RNN encoder-decoder family: context-vector seq2seq and Bahdanau / Luong attention.

Papers: Sutskever et al. 2014 (arXiv:1409.3215), Cho et al. 2014 (arXiv:1406.1078),
Bahdanau et al. 2015 (arXiv:1409.0473), Luong et al. 2015 (arXiv:1508.04025).
"""

from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .config_validation import (
    reject_misspelled_options,
    require_positive,
    require_probability,
    require_token_ids_in_vocab,
)
from .transformers_compat import CACHE_NAMES

# Paper set-ups, applied by `RNNSeq2SeqConfig.from_preset`. Every choice cites the paper's section; what still
# differs is marked "Deviation from paper" and listed in the README's preset table. The vocabulary sizes are the
# papers'; a training run sizes them to its tokenizers.
RNN_PRESETS: dict[str, dict] = {
    # Bahdanau et al. 2015, "RNNsearch".
    "bahdanau2015": dict(
        vocab_size=30000,  # §4.1: a shortlist of the 30,000 most frequent words of each language (two tables)
        embedding_size=620, hidden_size=1000,  # App. A.2 / B.2: m = 620, n = 1000
        encoder_layers=1, decoder_layers=1,
        bidirectional_encoder=True,  # §3.2, App. A.2.1: annotation h_j = [h->_j; h<-_j]
        cell_type="gru", gru_reset="before",  # App. A.1.1: s~ = tanh(W E y + U [r ∘ s] + C c), the reset before U
        attention_type="additive", attention_hidden_size=1000,  # App. A.1.2: a = v_a^T tanh(W_a s + U_a h), n' = n
        attention_wiring="bahdanau",  # §3.1: s_{i-1} queries; c_i enters the GRU input and the output layer
        readout_size=500,  # App. A.2.2: deep output, a maxout layer of l = 500 units pooling 2
        decoder_init="bridge", bridge_source="backward", bridge_bias=False,  # App. A.2.2: s_0 = tanh(W_s h<-_1)
        init_range=None, init_std=0.01,  # App. B.1: orthogonal U, U_z, U_r; W_a, U_a ~ N(0, 0.001²); others N(0, 0.01²)
        dropout=0.0,  # RNNsearch uses none
        # Deviation from paper: the maxout reads s_i (eq. 4, Cho et al., Nematus) where App. A.2.2 writes s_{i-1}.
    ),
    # Luong et al. 2015, global attention with input feeding (Table 1's "global (general) + feed input").
    "luong2015": dict(
        vocab_size=50000,  # §4.1: the top 50K most frequent words of each language (two tables)
        embedding_size=1000, hidden_size=1000, encoder_layers=4, decoder_layers=4,  # §4.1: 4 layers, 1000 cells
        cell_type="lstm", bidirectional_encoder=False,  # §3: stacking LSTM layers (Figure 1); uni-directional
        reverse_source=True,  # Table 1 "+reverse": the source is read backwards, after Sutskever et al. §3.3
        attention_type="general", attention_wiring="luong",  # §3.1 eq. 8 "general"; §3: h_t queries, eq. 5 h~_t
        input_feeding=True,  # §3.3
        decoder_init="encoder_final",  # §3 (Figure 1): the decoder starts from the encoder's final states
        init_range=0.1,  # §4.1: parameters uniformly initialised in [-0.1, 0.1]
        dropout=0.2,  # §4.1: dropout probability 0.2 between LSTM layers and on inputs
        # Deviation from paper: local attention (§3.2) is not implemented; this is Table 1's global model.
    ),
    # Cho et al. 2014, the RNN encoder-decoder with a fixed context vector c (§2.2, App. A).
    "cho2014": dict(
        vocab_size=15000,  # §4.1: the 15,000 most frequent words of each language (two tables)
        embedding_size=100,  # App. A: rank-100 matrices for the word projections, i.e. 100-dim embeddings
        hidden_size=1000, encoder_layers=1, decoder_layers=1,  # App. A: 1000 hidden units
        cell_type="gru", gru_reset="before",  # §2.3 eqs. 5-8: h~ = φ(W x + U (r ∘ h)), the reset before U
        bidirectional_encoder=False,  # §2.2: one RNN reads x_1 ... x_T
        attention_type="none", attention_wiring="bahdanau",  # §2.2: c enters every decoder update and output
        context_projection=True,  # App. A.1.1: c = tanh(V h_N)
        decoder_init="bridge", bridge_bias=False,  # App. A.1.2: h'_0 = tanh(V' c)
        readout_size=500,  # App. A.1.2: 500 maxout units pooling 2, reading h'_t, y_{t-1} and c
        init_range=None, init_std=0.01,  # App. A.2: N(0, 0.01²); recurrent matrices orthogonal (Saxe et al.)
        dropout=0.0,
        # Deviation from paper: c enters the candidate state outside the reset gate (W e + C c + U (r ∘ h), as in
        # Bahdanau et al.'s decoder), where App. A.1.2 resets U h + C c together.
    ),
    # Sutskever et al. 2014, the deep LSTM sequence to sequence model.
    "sutskever2014": dict(
        vocab_size=160000, decoder_vocab_size=80000,  # §3.1: 160,000 source and 80,000 target words
        embedding_size=1000, hidden_size=1000, encoder_layers=4, decoder_layers=4,  # §3.4: 4 layers, 1000 cells
        cell_type="lstm", bidirectional_encoder=False,
        reverse_source=True,  # §3.3: the words of the source sentence are read in reverse order
        attention_type="none", attention_wiring="luong",
        decoder_reads_context=False,  # §2: the decoder is conditioned on the source only through its initial
        decoder_init="encoder_final",  # state, the encoder LSTM's final states; the softmax reads the top LSTM
        init_range=0.08,  # §3.4: all LSTM parameters uniform in [-0.08, 0.08]
        dropout=0.0,
        # Deviation from paper: PyTorch's LSTM has two bias vectors per layer (b_ih + b_hh: +64,000 parameters, the
        # same function), and the softmax has no bias (the paper does not say).
    ),
    # A size that trains in minutes on a laptop CPU (the built-in dates task, Multi30k smoke runs).
    "small": dict(
        embedding_size=128, hidden_size=256, encoder_layers=1, decoder_layers=1, cell_type="gru",
        attention_type="additive", attention_wiring="bahdanau", bidirectional_encoder=True, dropout=0.1,
    ),
}


@strict
class RNNSeq2SeqConfig(PreTrainedConfig):
    r"""Configuration of [`RNNSeq2SeqModel`] and [`RNNSeq2SeqForConditionalGeneration`].

    The defaults have the sizes and wiring of RNNsearch (Bahdanau et al. 2015, App. A): a bidirectional GRU encoder,
    a GRU decoder with additive attention, 620-dim embeddings and 1000 hidden units. The papers' exact set-ups are
    the presets (`from_preset`): "bahdanau2015", "luong2015", "cho2014", "sutskever2014", and a laptop-sized "small".
    Options added after the first release default to that release's behaviour, so saved models load unchanged; the
    presets switch on what their paper does (the GRU of the papers, the bias-free bridge from h<-_1, ...).

    Two wirings of attention into the decoder are available (`attention_wiring`):
    - "bahdanau" (Bahdanau et al. §3.1): the previous decoder state s_{i-1} queries the encoder; the context c_i
      enters the RNN input together with the previous target embedding, and the output layer reads
      [s_i; c_i; E y_{i-1}] through a maxout layer (App. A.2.2).
    - "luong" (Luong et al. §3): the current top-layer state h_t queries the encoder; the attentional vector
      h~_t = tanh(W_c [c_t; h_t]) (eq. 5) feeds the output layer and, with `input_feeding`, the next step (§3.3).

    Args:
        vocab_size (`int`, defaults to 30000): size of the source vocabulary (the encoder's embeddings), which is
            also the target's unless `decoder_vocab_size` says otherwise (K_x = K_y = 30000 in Bahdanau et al.).
        decoder_vocab_size (`int`, *optional*): size of the target vocabulary (decoder embeddings and output
            layer), Marian's convention; defaults to `vocab_size` (one joint vocabulary). Sutskever et al. use 160k source / 80k target.
        embedding_size (`int`, defaults to 620): word embedding size m (Bahdanau et al. App. A).
        hidden_size (`int`, defaults to 1000): decoder hidden units n (Bahdanau et al. App. A); also the size of
            the vector fed to the output projection.
        encoder_hidden_size (`int`, *optional*): encoder hidden units per direction; defaults to `hidden_size`.
            The encoder's output size is twice this with `bidirectional_encoder`.
        encoder_layers (`int`, defaults to 1): stacked encoder RNN layers (4 in Sutskever et al. and Luong et al.).
        decoder_layers (`int`, defaults to 1): stacked decoder RNN layers.
        cell_type (`str`, defaults to `"gru"`): the recurrent unit, one of "rnn" (tanh Elman RNN), "gru"
            (gated recurrent unit, see `gru_reset`) or "lstm" (Hochreiter & Schmidhuber 1997).
        gru_reset (`str`, defaults to `"after"`): where the GRU's reset gate acts. "before" is the papers' unit
            (Cho et al. 2014 eq. 8, Bahdanau et al. App. A.1.1): tanh(W x + U (r ∘ h)), `ResetBeforeGRU`. "after"
            is `nn.GRU` (cuDNN's variant): tanh(W x + r ∘ (U h + b)); a different function, and faster (see
            the README's benchmark).
        attention_type (`str`, defaults to `"additive"`): the score function. "none" is the context-vector
            seq2seq (Cho et al. 2014): a fixed encoder summary c feeds every decoder step. "additive" is
            v^T tanh(W q + U k) (Bahdanau et al. eq. 6 / App. A.1.2); "dot", "general" and "concat" are the
            scores of Luong et al. eq. 8.
        attention_wiring (`str`, defaults to `"bahdanau"`): "bahdanau" or "luong", see above.
        attention_hidden_size (`int`, *optional*): hidden size n' of the additive / concat score; defaults to
            `hidden_size` (n' = 1000 in Bahdanau et al. App. A).
        bidirectional_encoder (`bool`, defaults to `True`): read the source in both directions and concatenate
            the states (Bahdanau et al. §3.2).
        input_feeding (`bool`, defaults to `False`): feed the previous attentional vector h~_{t-1} into the next
            decoder input (Luong et al. §3.3). Only with the "luong" wiring: the "bahdanau" wiring already feeds
            the context into the RNN input.
        reverse_source (`bool`, defaults to `False`): the encoder reads each source sentence backwards (Sutskever
            et al. §3.3), keeping a final eos token last. Applied inside the model to `input_ids`, so training,
            evaluation, generation, pipelines and remote code all apply it, and the tokenizer stays the plain one;
            the encoder's outputs and attention weights come back in the source's own order.
        decoder_reads_context (`bool`, defaults to `True`): with attention_type "none", False is Sutskever et al.'s
            decoder: it sees the source only through its initial state (`decoder_init`), and the softmax reads its
            top state. True feeds the fixed context c to every step (Cho et al. §2.2).
        context_projection (`bool`, defaults to `False`): with attention_type "none", the context is
            c = tanh(V h_N) (Cho et al. App. A.1.1) rather than the raw final encoder state.
        decoder_init (`str`, defaults to `"bridge"`): initial decoder state: "bridge" is tanh(W_s summary [+ b_s])
            (Bahdanau et al. App. A.2.2, Cho et al. App. A.1.2), "encoder_final" copies each encoder layer's final
            state into the same decoder layer (Sutskever et al. §2, Luong et al. §3), "zero" starts from zeros.
        bridge_source (`str`, defaults to `"both"`): what the bridge reads: "both" is the final states of both
            directions [h->_T; h<-_1] (or h_T), "backward" is h<-_1 alone (Bahdanau et al. App. A.2.2), or, with
            `context_projection`, the context c.
        bridge_bias (`bool`, defaults to `True`): give the bridge a bias b_s (Bahdanau et al. and Cho et al. have
            none).
        readout_size (`int`, *optional*): units of the "bahdanau" wiring's maxout output layer (l = 500 in
            Bahdanau et al. App. A.2.2 and Cho et al. App. A.1.2); defaults to `hidden_size`.
        dropout (`float`, defaults to 0.0): dropout on embeddings, between stacked RNN layers and before the
            output projection (Luong et al. §4.1 use 0.2; Bahdanau et al. use none in RNNsearch).
        init_std (`float`, defaults to 0.01): standard deviation of the normal initialisation of non-recurrent
            weights, N(0, 0.01^2) in Bahdanau et al. App. B.1; each gate block of a recurrent matrix is initialised
            orthogonal.
        init_range (`float`, *optional*): when set, every parameter is drawn from U(-init_range, init_range)
            instead (Sutskever et al. §3.4: 0.08; Luong et al. §4.1: 0.1).
        tie_word_embeddings (`bool`, defaults to `False`): tie the output projection to the target embeddings
            (Press & Wolf 2017); needs `embedding_size` equal to the output layer's input (`output_size`).
        bos_token_id (`int`, defaults to 0): beginning-of-sequence id (the ids follow fairseq's order, as the
            package's tokenizers do; see `subword_tokenizer.SPECIAL_TOKENS`).
        pad_token_id (`int`, defaults to 1): padding id; padded source positions are masked out. Not 0: beam
            search in transformers treats a pad id of 0 as missing and pads finished hypotheses with eos.
        eos_token_id (`int`, defaults to 2): end-of-sequence id.
        decoder_start_token_id (`int`, defaults to 0): first decoder input (y_0).
        use_cache (`bool`, defaults to `True`): return the recurrent decoder state for incremental decoding.
        is_encoder_decoder (`bool`, defaults to `True`): always True for this family.
    """

    model_type = "zoo_rnn_seq2seq"
    keys_to_ignore_at_inference = CACHE_NAMES

    vocab_size: int = 30000
    decoder_vocab_size: int | None = None
    embedding_size: int = 620
    hidden_size: int = 1000
    encoder_hidden_size: int | None = None
    encoder_layers: int = 1
    decoder_layers: int = 1
    cell_type: Literal["rnn", "gru", "lstm"] = "gru"
    gru_reset: Literal["after", "before"] = "after"
    attention_type: Literal["none", "additive", "dot", "general", "concat"] = "additive"
    attention_wiring: Literal["bahdanau", "luong"] = "bahdanau"
    attention_hidden_size: int | None = None
    bidirectional_encoder: bool = True
    input_feeding: bool = False
    reverse_source: bool = False
    decoder_reads_context: bool = True
    context_projection: bool = False
    decoder_init: Literal["bridge", "encoder_final", "zero"] = "bridge"
    bridge_source: Literal["both", "backward"] = "both"
    bridge_bias: bool = True
    readout_size: int | None = None
    dropout: float | int = 0.0
    init_std: float = 0.01
    init_range: float | None = None
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 0
    pad_token_id: int | None = 1
    eos_token_id: int | None = 2
    decoder_start_token_id: int | None = 0
    use_cache: bool = True
    is_encoder_decoder: bool = True

    def __post_init__(self, **kwargs):
        reject_misspelled_options(self, kwargs)
        if self.decoder_vocab_size is None:  # Marian's convention: one joint vocabulary unless told otherwise
            self.decoder_vocab_size = self.vocab_size
        if self.encoder_hidden_size is None:
            self.encoder_hidden_size = self.hidden_size
        if self.attention_hidden_size is None:
            self.attention_hidden_size = self.hidden_size
        if self.readout_size is None:
            self.readout_size = self.hidden_size
        super().__post_init__(**kwargs)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "RNNSeq2SeqConfig":
        """Build the set-up of a paper (`RNN_PRESETS`), with any field overridden, e.g. `vocab_size=8000`."""
        if name not in RNN_PRESETS:
            raise ValueError(f"Unknown RNN preset {name!r}. Choose one of: {', '.join(RNN_PRESETS)}.")
        return cls(**{**RNN_PRESETS[name], **overrides})

    @property
    def encoder_output_size(self) -> int:
        """Width of the encoder's states h_j: 2 × encoder_hidden_size when bidirectional (Bahdanau et al. §3.2)."""
        return self.encoder_hidden_size * (2 if self.bidirectional_encoder else 1)

    @property
    def output_size(self) -> int:
        """Width of the vector the output layer reads: the maxout readout ("bahdanau" wiring) or h~_t / h_t."""
        return self.readout_size if self.attention_wiring == "bahdanau" else self.hidden_size

    def validate_sizes(self):
        require_positive(
            self, ["vocab_size", "embedding_size", "hidden_size", "encoder_hidden_size",
                   "encoder_layers", "decoder_layers", "attention_hidden_size", "readout_size"]
            + ["decoder_vocab_size"],
        )
        require_probability(self, ["dropout"])
        if self.init_std <= 0:
            raise ValueError(f"RNNSeq2SeqConfig: init_std must be positive, got {self.init_std}.")
        if self.init_range is not None and self.init_range <= 0:
            raise ValueError(
                f"RNNSeq2SeqConfig: init_range must be positive (U(-r, r)), got {self.init_range}. Use e.g. 0.08 "
                "(Sutskever et al.), or init_range=None for Bahdanau et al.'s normal/orthogonal scheme."
            )

    def validate_cell(self):
        if self.gru_reset == "before" and self.cell_type != "gru":
            raise ValueError(
                f"gru_reset='before' chooses the GRU of Cho et al. eq. 8, but cell_type={self.cell_type!r}. Set "
                "cell_type='gru', or leave gru_reset='after'."
            )

    def validate_decoder_start(self):
        if self.decoder_init == "encoder_final" and (
            self.encoder_layers != self.decoder_layers or self.encoder_output_size != self.hidden_size
        ):
            raise ValueError(
                f"decoder_init='encoder_final' copies each encoder layer's final state into the same decoder layer, "
                f"so encoder_layers ({self.encoder_layers}) must equal decoder_layers ({self.decoder_layers}) and "
                f"the encoder's state width ({self.encoder_output_size}) must equal hidden_size ({self.hidden_size}). "
                "Match the sizes, or use decoder_init='bridge', which learns a projection."
            )
        if self.bridge_source == "backward" and not self.bidirectional_encoder:
            raise ValueError(
                "bridge_source='backward' reads h<-_1, the backward encoder's state (Bahdanau et al. App. A.2.2), but "
                "bidirectional_encoder=False. Set bidirectional_encoder=True, or bridge_source='both'."
            )

    def validate_context(self):
        for name in ("context_projection", "decoder_reads_context"):
            if getattr(self, name) != self.__dataclass_fields__[name].default and self.attention_type != "none":
                raise ValueError(
                    f"{name}={getattr(self, name)} concerns the fixed context of attention_type='none' (Cho et al., "
                    f"Sutskever et al.), but attention_type={self.attention_type!r}. Drop {name}, or use "
                    "attention_type='none'."
                )
        if not self.decoder_reads_context:
            if self.attention_wiring != "luong":
                raise ValueError(
                    "decoder_reads_context=False is Sutskever et al.'s decoder, whose softmax reads the top LSTM "
                    f"state: it needs attention_wiring='luong' (got {self.attention_wiring!r}), whose output is "
                    "that state."
                )
            if self.decoder_init == "zero":
                raise ValueError(
                    "decoder_reads_context=False with decoder_init='zero' would never show the source to the "
                    "decoder. Use decoder_init='encoder_final' (Sutskever et al.) or 'bridge'."
                )

    def validate_token_ids(self):
        require_token_ids_in_vocab(self, ["pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"])

    def validate_attention(self):
        if self.attention_type == "dot" and self.encoder_output_size != self.hidden_size:
            direction = "2 × encoder_hidden_size" if self.bidirectional_encoder else "encoder_hidden_size"
            fix = (
                f"set encoder_hidden_size={self.hidden_size // 2}"
                if self.bidirectional_encoder and self.hidden_size % 2 == 0
                else f"set encoder_hidden_size={self.hidden_size}"
            )
            raise ValueError(
                f"attention_type='dot' scores h_t^T h_s, so the encoder output size ({direction} = "
                f"{self.encoder_output_size}) must equal hidden_size ({self.hidden_size}): {fix}, or use "
                "attention_type='general', which learns a projection between the two sizes."
            )
        if self.input_feeding and self.attention_wiring != "luong":
            raise ValueError(
                f"input_feeding=True is Luong et al.'s §3.3 and needs attention_wiring='luong' (got "
                f"{self.attention_wiring!r}); the 'bahdanau' wiring already feeds the context into the RNN input. "
                "Set attention_wiring='luong' or input_feeding=False."
            )
        if self.tie_word_embeddings and self.embedding_size != self.output_size:
            what = "readout_size" if self.attention_wiring == "bahdanau" else "hidden_size"
            raise ValueError(
                f"tie_word_embeddings=True shares the output projection with the target embeddings, so "
                f"embedding_size ({self.embedding_size}) must equal the output layer's input, {what} "
                f"({self.output_size}). Set them equal or use tie_word_embeddings=False."
            )


__all__ = ["RNNSeq2SeqConfig", "RNN_PRESETS"]
