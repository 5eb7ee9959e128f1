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

# Paper set-ups, applied by `RNNSeq2SeqConfig.from_preset`. Each differs from the defaults only where the paper
# says so; sizes the papers tie to their data (vocabulary) are left to the caller.
RNN_PRESETS: dict[str, dict] = {
    # Bahdanau et al. 2015, App. A ("RNNsearch"): bidirectional GRU encoder of 1000 units per direction, GRU
    # decoder of 1000 units, 620-dim embeddings, additive alignment model with n'=1000, 30k vocabulary.
    "bahdanau2015": dict(
        vocab_size=30000, embedding_size=620, hidden_size=1000, encoder_layers=1, decoder_layers=1,
        cell_type="gru", attention_type="additive", attention_wiring="bahdanau", bidirectional_encoder=True,
        input_feeding=False, dropout=0.0,
    ),
    # Luong et al. 2015, §4.1: 4-layer LSTMs of 1000 cells, 1000-dim embeddings, global attention ("general"
    # was their best global score), input feeding, dropout 0.2, uni-directional encoder, 50k vocabulary.
    "luong2015": dict(
        vocab_size=50000, embedding_size=1000, hidden_size=1000, encoder_layers=4, decoder_layers=4,
        cell_type="lstm", attention_type="general", attention_wiring="luong", bidirectional_encoder=False,
        input_feeding=True, dropout=0.2,
    ),
    # Cho et al. 2014, §2.2 / App. A: the RNN encoder-decoder with a fixed context vector c that feeds every
    # decoder step; 1000 hidden units with gated (GRU) cells.
    "cho2014": dict(
        vocab_size=15000, embedding_size=620, hidden_size=1000, encoder_layers=1, decoder_layers=1,
        cell_type="gru", attention_type="none", attention_wiring="bahdanau", bidirectional_encoder=False,
        input_feeding=False, dropout=0.0,
    ),
    # Sutskever et al. 2014, §3.4: deep LSTMs of 4 layers, 1000 cells, 1000-dim embeddings, no attention.
    # Deviation from paper: the source is not reversed (§3.3); reverse the source tokens in the data to get it.
    "sutskever2014": dict(
        vocab_size=80000, embedding_size=1000, hidden_size=1000, encoder_layers=4, decoder_layers=4,
        cell_type="lstm", attention_type="none", attention_wiring="luong", bidirectional_encoder=False,
        input_feeding=False, dropout=0.0,
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

    The defaults reproduce RNNsearch of Bahdanau et al. 2015 (App. A): a bidirectional GRU encoder, a GRU decoder
    with additive attention, 620-dim embeddings and 1000 hidden units. `from_preset` gives the other papers'
    set-ups ("bahdanau2015", "luong2015", "cho2014", "sutskever2014") and a laptop-sized "small".

    Two wirings of attention into the decoder are available (`attention_wiring`):
    - "bahdanau" (Bahdanau et al. §3.1): the previous decoder state s_{i-1} queries the encoder; the context c_i
      enters the RNN input together with the previous target embedding, and the output layer reads
      [s_i; c_i; E y_{i-1}] through a maxout layer (App. A.2.2).
    - "luong" (Luong et al. §3): the current top-layer state h_t queries the encoder; the attentional vector
      h~_t = tanh(W_c [c_t; h_t]) (eq. 5) feeds the output layer and, with `input_feeding`, the next step (§3.3).

    Args:
        vocab_size (`int`, defaults to 30000): size of the (joint) vocabulary of source and target tokens
            (K_x = K_y = 30000 in Bahdanau et al. App. A).
        embedding_size (`int`, defaults to 620): word embedding size m (Bahdanau et al. App. A).
        hidden_size (`int`, defaults to 1000): decoder hidden units n (Bahdanau et al. App. A); also the size of
            the vector fed to the output projection.
        encoder_hidden_size (`int`, *optional*): encoder hidden units per direction; defaults to `hidden_size`.
            The encoder's output size is twice this with `bidirectional_encoder`.
        encoder_layers (`int`, defaults to 1): stacked encoder RNN layers (4 in Sutskever et al. and Luong et al.).
        decoder_layers (`int`, defaults to 1): stacked decoder RNN layers.
        cell_type (`str`, defaults to `"gru"`): the recurrent unit, one of "rnn" (tanh Elman RNN), "gru"
            (Cho et al. 2014 §2.3) or "lstm" (Hochreiter & Schmidhuber 1997).
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
        decoder_init (`str`, defaults to `"bridge"`): initial decoder state: "bridge" is tanh(W_s summary)
            (Bahdanau et al. App. A.2.2 / Cho et al. eq. of s_0), "zero" starts from zeros.
        dropout (`float`, defaults to 0.0): dropout on embeddings, between stacked RNN layers and before the
            output projection (Luong et al. §4.1 use 0.2; Bahdanau et al. use none in RNNsearch).
        init_std (`float`, defaults to 0.01): standard deviation of the normal initialisation of non-recurrent
            weights, N(0, 0.01^2) in Bahdanau et al. App. A.2; recurrent matrices are initialised orthogonal.
        tie_word_embeddings (`bool`, defaults to `False`): tie the output projection to the target embeddings
            (Press & Wolf 2017); needs `embedding_size == hidden_size`.
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
    embedding_size: int = 620
    hidden_size: int = 1000
    encoder_hidden_size: int | None = None
    encoder_layers: int = 1
    decoder_layers: int = 1
    cell_type: Literal["rnn", "gru", "lstm"] = "gru"
    attention_type: Literal["none", "additive", "dot", "general", "concat"] = "additive"
    attention_wiring: Literal["bahdanau", "luong"] = "bahdanau"
    attention_hidden_size: int | None = None
    bidirectional_encoder: bool = True
    input_feeding: bool = False
    decoder_init: Literal["bridge", "zero"] = "bridge"
    dropout: float | int = 0.0
    init_std: float = 0.01
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 0
    pad_token_id: int | None = 1
    eos_token_id: int | None = 2
    decoder_start_token_id: int | None = 0
    use_cache: bool = True
    is_encoder_decoder: bool = True

    def __post_init__(self, **kwargs):
        reject_misspelled_options(self, kwargs)
        if self.encoder_hidden_size is None:
            self.encoder_hidden_size = self.hidden_size
        if self.attention_hidden_size is None:
            self.attention_hidden_size = self.hidden_size
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

    def validate_sizes(self):
        require_positive(
            self, ["vocab_size", "embedding_size", "hidden_size", "encoder_hidden_size", "encoder_layers",
                   "decoder_layers", "attention_hidden_size"],
        )
        require_probability(self, ["dropout"])
        if self.init_std <= 0:
            raise ValueError(f"RNNSeq2SeqConfig: init_std must be positive, got {self.init_std}.")

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
        if self.tie_word_embeddings and self.embedding_size != self.hidden_size:
            raise ValueError(
                f"tie_word_embeddings=True shares the output projection with the target embeddings, so "
                f"embedding_size ({self.embedding_size}) must equal hidden_size ({self.hidden_size}). Set them "
                "equal or use tie_word_embeddings=False."
            )


__all__ = ["RNNSeq2SeqConfig", "RNN_PRESETS"]
