"""Configuration of the Transformer encoder-decoder of "Attention Is All You Need".

Papers: Vaswani et al. 2017 (arXiv:1706.03762); relative positions: Shaw et al. 2018 (arXiv:1803.02155).
"""

from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig
from transformers.activations import ACT2FN

from .config_validation import (
    reject_misspelled_options,
    require_positive,
    require_probability,
    require_joint_vocabulary_for_shared_embeddings,
    require_token_ids_in_vocab,
)
from .transformers_compat import CACHE_NAMES

# Named sizes. "base" and "big" are Vaswani et al. Table 3; "small" is a size that trains on a laptop CPU in minutes.
TRANSFORMER_PRESETS: dict[str, dict] = {
    "base": {},  # the field defaults are the base model
    "big": {
        "d_model": 1024,
        "encoder_ffn_dim": 4096,
        "decoder_ffn_dim": 4096,
        "encoder_attention_heads": 16,
        "decoder_attention_heads": 16,
        "dropout": 0.3,  # Table 3, P_drop of the big EN-DE model
    },
    "small": {
        "d_model": 256,
        "encoder_layers": 3,
        "decoder_layers": 3,
        "encoder_ffn_dim": 1024,
        "decoder_ffn_dim": 1024,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "max_position_embeddings": 256,
    },
}


@strict
class TransformerSeq2SeqConfig(PreTrainedConfig):
    r"""Configuration of [`TransformerSeq2SeqModel`] (Vaswani et al. 2017, arXiv:1706.03762).

    The defaults are the paper's base model (Table 3: N=6, d_model=512, d_ff=2048, h=8, P_drop=0.1) with its
    shared 37k-token source/target vocabulary. `TransformerSeq2SeqConfig.from_preset("big")` gives the big model and
    `from_preset("small")` one that trains on a laptop. Label smoothing (§5.4, ε_ls=0.1) is a training option, not a
    config field: pass `label_smoothing_factor=0.1` to `Seq2SeqTrainingArguments`.

    Args:
        vocab_size (`int`, defaults to 37000):
            Size of the source vocabulary, which is also the target's unless `decoder_vocab_size` says otherwise
            (§5.1: one shared byte-pair vocabulary of about 37000 tokens for EN-DE).
        decoder_vocab_size (`int`, *optional*):
            Size of the target vocabulary (decoder embeddings and output layer) when it is not the source's (Marian's
            convention); defaults to `vocab_size`. Separate sizes need `share_encoder_decoder_embeddings=False`.
        d_model (`int`, defaults to 512):
            Width of every sub-layer output and embedding, d_model (§3.1).
        encoder_layers (`int`, defaults to 6):
            Number of identical encoder layers, N (§3.1).
        decoder_layers (`int`, defaults to 6):
            Number of identical decoder layers, N (§3.1).
        encoder_attention_heads (`int`, defaults to 8):
            Parallel attention heads in the encoder, h (§3.2.2); d_k = d_v = d_model / h.
        decoder_attention_heads (`int`, defaults to 8):
            Parallel attention heads in the decoder self- and cross-attention, h (§3.2.2).
        encoder_ffn_dim (`int`, defaults to 2048):
            Inner width of the encoder's position-wise feed-forward networks, d_ff (§3.3).
        decoder_ffn_dim (`int`, defaults to 2048):
            Inner width of the decoder's position-wise feed-forward networks, d_ff (§3.3).
        dropout (`float`, defaults to 0.1):
            Residual dropout P_drop (§5.4): on each sub-layer output before the residual addition, and on the sums
            of embeddings and positional encodings.
        attention_dropout (`float`, defaults to 0.0):
            Dropout on the attention weights softmax(QK^T/sqrt(d_k)). Not in the paper (0.0 reproduces it).
        activation_dropout (`float`, defaults to 0.0):
            Dropout after the feed-forward activation, max(0, xW1 + b1). Not in the paper (0.0 reproduces it).
        activation_function (`str`, defaults to `"relu"`):
            Feed-forward activation (§3.3 eq. 2 uses ReLU); any name of `transformers.activations.ACT2FN`.
        max_position_embeddings (`int`, defaults to 1024):
            Number of rows of the learned position table (§3.5 "learned positional embeddings") and the default
            `max_length` of `generate()`. Sinusoidal and relative positions work beyond it.
        position_embedding_type (`str`, defaults to `"sinusoidal"`):
            `"sinusoidal"`: the fixed encodings PE(pos, 2i) = sin(pos / 10000^(2i/d_model)) of §3.5;
            `"learned"`: a learned absolute table (§3.5, Table 3 row E);
            `"relative"`: Shaw et al. 2018 relative position representations (keys and values) inside encoder and
            decoder self-attention; no absolute positions are added. Relative self-attention always runs the eager
            implementation (its value term needs the attention weights, which fused kernels do not return);
            cross-attention still follows `attn_implementation`.
        max_relative_position (`int`, defaults to 16):
            Clipping distance k of relative positions (Shaw et al. 2018 §3.2): distances beyond ±k share one
            embedding. Used only with `position_embedding_type="relative"`.
        normalize_before (`bool`, defaults to `False`):
            `False` is the paper's post-LN, LayerNorm(x + Sublayer(x)) (§3.1). `True` is pre-LN,
            x + Sublayer(LayerNorm(x)), plus a final LayerNorm on encoder and decoder outputs (Xiong et al. 2020,
            arXiv:2002.04745): more stable without a warm-up, not the paper.
        scale_embedding (`bool`, defaults to `True`):
            Multiply the token embeddings by sqrt(d_model) (§3.4).
        share_encoder_decoder_embeddings (`bool`, defaults to `True`):
            Use one embedding matrix for source and target tokens (§3.4, with the shared vocabulary of §5.1).
        tie_word_embeddings (`bool`, defaults to `True`):
            Use the (decoder) embedding matrix as the pre-softmax linear transformation (§3.4).
        init_std (`float`, defaults to 0.02):
            Standard deviation of the normal initialisation of linear and embedding weights. The paper does not say
            how it initialises; 0.02 is the BART/Marian value.
        pad_token_id (`int`, defaults to 1):
            Id of the padding token; padded source positions get zero attention. The ids follow fairseq (bos 0,
            pad 1, eos 2): transformers' beam search fills finished rows with the eos id when pad is 0.
        bos_token_id (`int`, defaults to 0):
            Id of the beginning-of-sequence token.
        eos_token_id (`int`, defaults to 2):
            Id of the end-of-sequence token; generation stops there.
        decoder_start_token_id (`int`, defaults to 0):
            First decoder input token: `labels` are shifted right behind it during training and `generate()`
            starts from it.
        use_cache (`bool`, defaults to `True`):
            Return the decoder's keys/values (the `cache`) so that generation reuses them.
        is_encoder_decoder (`bool`, defaults to `True`):
            Always `True`: tells `generate()` to run the encoder once and decode from `decoder_start_token_id`.

    Example:

    ```python
    >>> config = TransformerSeq2SeqConfig.from_preset("small", vocab_size=8000)
    >>> model = TransformerSeq2SeqForConditionalGeneration(config)
    ```
    """

    model_type = "zoo_transformer"
    keys_to_ignore_at_inference = CACHE_NAMES

    vocab_size: int = 37000
    decoder_vocab_size: int | None = None
    d_model: int = 512
    encoder_layers: int = 6
    decoder_layers: int = 6
    encoder_attention_heads: int = 8
    decoder_attention_heads: int = 8
    encoder_ffn_dim: int = 2048
    decoder_ffn_dim: int = 2048
    dropout: float | int = 0.1
    attention_dropout: float | int = 0.0
    activation_dropout: float | int = 0.0
    activation_function: str = "relu"
    max_position_embeddings: int = 1024
    position_embedding_type: Literal["sinusoidal", "learned", "relative"] = "sinusoidal"
    max_relative_position: int = 16
    normalize_before: bool = False
    scale_embedding: bool = True
    share_encoder_decoder_embeddings: bool = True
    tie_word_embeddings: bool = True
    init_std: float = 0.02
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    decoder_start_token_id: int = 0
    use_cache: bool = True
    is_encoder_decoder: bool = True

    def __post_init__(self, **kwargs):
        reject_misspelled_options(self, kwargs)
        if self.decoder_vocab_size is None:  # Marian's convention: one joint vocabulary unless told otherwise
            self.decoder_vocab_size = self.vocab_size
        super().__post_init__(**kwargs)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "TransformerSeq2SeqConfig":
        """Build a named size: "base" and "big" (Vaswani et al. Table 3) or "small" (trains on a laptop).

        Args:
            name: the preset name.
            overrides: fields to set on top of the preset, e.g. `vocab_size=8000`.
        """
        if name not in TRANSFORMER_PRESETS:
            raise ValueError(f"Unknown preset {name!r}. Valid presets: {', '.join(sorted(TRANSFORMER_PRESETS))}.")
        return cls(**{**TRANSFORMER_PRESETS[name], **overrides})

    # Class validators: @strict runs every public `validate_*` method at construction.
    def validate_sizes(self):
        require_positive(
            self,
            [
                "vocab_size", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
                "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "max_position_embeddings",
                "max_relative_position",
            ]
            + ["decoder_vocab_size"],
        )
        if self.init_std <= 0:
            raise ValueError(f"{type(self).__name__}: init_std must be positive, got init_std={self.init_std}.")

    def validate_heads_divide_d_model(self):
        for name in ("encoder_attention_heads", "decoder_attention_heads"):
            heads = getattr(self, name)
            if heads > 0 and self.d_model % heads != 0:
                divisors = [h for h in range(1, min(self.d_model, 64) + 1) if self.d_model % h == 0]
                raise ValueError(
                    f"{type(self).__name__}: d_model={self.d_model} is not divisible by {name}={heads}, so the "
                    f"heads cannot split it (d_k = d_model / h, §3.2.2). Use a number of heads among {divisors}, "
                    f"or change d_model."
                )

    def validate_sinusoidal_needs_even_d_model(self):
        if self.position_embedding_type == "sinusoidal" and self.d_model % 2 != 0:
            raise ValueError(
                f"{type(self).__name__}: sinusoidal positions pair sin/cos dimensions (§3.5), so d_model must be "
                f"even, got d_model={self.d_model}. Use an even d_model or position_embedding_type='learned'."
            )

    def validate_dropout_rates(self):
        require_probability(self, ["dropout", "attention_dropout", "activation_dropout"])

    def validate_activation_function(self):
        if self.activation_function not in ACT2FN:
            raise ValueError(
                f"{type(self).__name__}: unknown activation_function={self.activation_function!r}. Use one of "
                f"{', '.join(sorted(ACT2FN))} (the paper uses 'relu')."
            )

    def validate_separate_vocabularies(self):
        require_joint_vocabulary_for_shared_embeddings(self, "share_encoder_decoder_embeddings")

    def validate_token_ids(self):
        require_token_ids_in_vocab(self, ["pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"])


__all__ = ["TransformerSeq2SeqConfig", "TRANSFORMER_PRESETS"]
