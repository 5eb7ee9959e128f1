"""Export a zoo Transformer (Vaswani et al. 2017, arXiv:1706.03762) to CTranslate2, OpenNMT's C++ inference engine
(github.com/OpenNMT/CTranslate2), to translate at its CPU speed: `export_to_ctranslate2(model_folder, output_dir)`.

What goes where (ours → `ctranslate2.specs.TransformerSpec`, encoder and decoder alike unless said):

| ours | spec |
|---|---|
| `normalize_before` | `pre_norm` (False: the paper's post-LN) |
| `activation_function` | `activation` (relu → `Activation.RELU`, ...) |
| `encoder_attention_heads`, `decoder_attention_heads` | `num_heads` of `TransformerEncoderSpec`, `...DecoderSpec` |
| `embed_tokens.weight` (shared or not) | `encoder.embeddings[0].weight`, `decoder.embeddings.weight` |
| `scale_embedding` (× sqrt(d_model), §3.4) | `scale_embeddings` (True: × sqrt(depth)) |
| sinusoidal positions (§3.5) | `position_encodings.encodings`: our table for positions 0..max_positions-1 |
| `embed_positions.weight` (learned) | `position_encodings.encodings` |
| relative: `relative_positions.keys/values.weight` | `self_attention.relative_position_keys/values` |
| `self_attn.qkv_proj` (rows [W^Q; W^K; W^V]), `out_proj` | `self_attention.linear[0]` (same order), `linear[1]` |
| `encoder_attn.q_proj`, `kv_proj` ([W^K; W^V]), `out_proj` | `attention.linear[0]`, `[1]` (same order), `[2]` |
| `self_attn_`/`encoder_attn_`/`feed_forward_sublayer.layer_norm` | `self_attention`/`attention`/`ffn.layer_norm` |
| `feed_forward.fc1`, `fc2` | `ffn.linear_0`, `ffn.linear_1` |
| pre-LN final `encoder.layer_norm`, `decoder.layer_norm` | `encoder.layer_norm`, `decoder.layer_norm` |
| `lm_head` (tied or not; equal tensors are stored once) | `decoder.projection` |
| the tokenizer's tokens by id (`target_tokenizer/` for the target side) | source / target vocabulary |
| bos, eos, decoder start ids; tokenizer unk | config `bos_token`, `eos_token`, `decoder_start_token`, `unk_token` |
| nn.LayerNorm's eps 1e-5 | config `layer_norm_epsilon` |

CTranslate2 generates its own sinusoids as tensor2tensor does ([sin | cos] concatenated, positions from 1, frequencies
1/10000^(i/(d/2-1))), not as §3.5 does (interleaved, from 0, 1/10000^(2i/d)), so ours are stored as a table. Its
relative positions are ours, Shaw et al. 2018 (arXiv:1803.02155): clip(j - i, k) with the query at the end of the
keys when decoding, separate key/value tables per layer shared by the heads, the key term inside the 1/sqrt(d_k)
scaling; k = (rows - 1) / 2. Vocabularies: `vocab_size` rows on the source side, `decoder_vocab_size` on the target
side; a side whose tokenizer is smaller (older models sized both sides to the larger one) gets placeholder tokens
`<unused{id}>` for the rows it never uses. Sources are passed as the tokenizer's tokens,
which end with </s> (`add_source_bos`/`add_source_eos` stay False).

`translator.translate_batch(tokens, beam_size=B, length_penalty=α, max_decoding_length=N, min_decoding_length=0,
return_end_token=True, return_scores=True)` returns what `model.generate(num_beams=B, length_penalty=α,
max_new_tokens=N, early_stopping=True, output_scores=True, return_dict_in_generate=True)` returns after the decoder
start token, </s> included:
- `early_stopping=True`: CTranslate2 ends a sentence once B hypotheses have finished (`patience=1`), as generate
  does with it; generate's default (False) keeps searching while a heuristic says a running beam might still win.
  Both extend the best B non-</s> of the top 2B candidates and finish </s> only among the top B.
- `return_end_token=True`: the length in score / length**α then counts </s>, as generate's does, and the scores equal
  `sequences_scores`; by default CTranslate2 leaves </s> out of both the tokens and that length.
- `min_decoding_length=0`: CTranslate2's default 1 forbids </s> as the first token; generate allows it. A minimum
  length does not carry over: CTranslate2 renormalises the probabilities after forbidding </s>, generate's beam
  search does not (`min_new_tokens`), so scores and even beam choices differ.
- Greedy (`beam_size=1`, `num_beams=1`): the score is the sum of the log-probabilities / length**length_penalty; pass
  `length_penalty=0` for the sum. With α = 0 and B > 1 CTranslate2 stops when the top beam finishes: the same best
  hypothesis (scores only fall as tokens are added), fewer alternatives.
- Mind CTranslate2's other defaults: `beam_size=2`, `max_decoding_length=256`, `max_input_length=1024` (it
  truncates longer sources; 0 disables that). The outputs agree while no two candidates are within float rounding
  of each other: CTranslate2's kernels differ from torch's in the last bits, so a near-tie may break differently.
"""

import os
from pathlib import Path

import torch
from transformers import AutoConfig

from ..models.configuration_transformer import TransformerSeq2SeqConfig
from ..models.modeling_transformer import (
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    TransformerSeq2SeqForConditionalGeneration,
    TransformerStack,
)
from ..models.positional_encoding import sinusoidal_position_encoding
from ..registry import FAMILIES
from ..data.subword_tokenizer import load_tokenizers, save_tokenizers
from ..models.transformer_attention import MultiHeadAttention

_INSTALL_HINT = "pip install 'hf_attention_zoo[ctranslate2]' (or pip install 'ctranslate2>=4,<5')"
# Our activation names (transformers' ACT2FN) → the names of `ctranslate2.specs.common_spec.Activation`.
_ACTIVATIONS = {"relu": "RELU", "gelu": "GELU", "gelu_new": "GELUTanh", "gelu_pytorch_tanh": "GELUTanh",
                "silu": "SWISH", "swish": "SWISH"}
_LAYER_NORM_EPSILON = 1e-5  # nn.LayerNorm's default, which every LayerNorm of the model uses


def export_to_ctranslate2(
    model_folder: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    quantization: str | None = None,
    force: bool = False,
    max_positions: int | None = None,
) -> Path:
    """Convert a saved zoo Transformer and its tokenizer(s) into a CTranslate2 model folder.

    Args:
        model_folder: a folder written by `save_pretrained`, with the tokenizer saved next to the model (and the
            target tokenizer in `target_tokenizer/` for separate vocabularies, see `subword_tokenizer.save_tokenizers`).
        output_dir: the CTranslate2 model folder to write (model.bin, config.json, vocabularies); the tokenizer(s)
            are saved there too, so one folder serves `ctranslate2.Translator` and `AutoTokenizer`.
        quantization: weight type, e.g. "int8" or "float16" (CTranslate2's `quantization`); None keeps float32.
        force: overwrite `output_dir` if it exists.
        max_positions: sinusoidal positions only: rows of the exported position table, the longest source or output
            CTranslate2 will accept (default `max_position_embeddings`).

    Returns:
        The path of `output_dir`.
    """
    try:
        import ctranslate2
    except ImportError as error:
        raise ImportError(f"Exporting to CTranslate2 needs the ctranslate2 package: {_INSTALL_HINT}.") from error

    config = _transformer_config(model_folder)
    if config.activation_function not in _ACTIVATIONS:
        raise NotImplementedError(
            f"CTranslate2 has no activation {config.activation_function!r}; it can run "
            f"{', '.join(sorted(_ACTIVATIONS))}. Export a model trained with one of those."
        )
    if max_positions is not None and config.position_embedding_type != "sinusoidal":
        raise ValueError(
            f"max_positions={max_positions} sizes the sinusoidal position table, but this model has "
            f"position_embedding_type={config.position_embedding_type!r}. Leave max_positions out."
        )
    # float32 whatever the saved dtype: `quantization` chooses the exported weight type.
    model = TransformerSeq2SeqForConditionalGeneration.from_pretrained(
        model_folder, config=config, dtype=torch.float32
    ).eval()
    try:
        source_tokenizer, target_tokenizer = load_tokenizers(model_folder)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"No tokenizer could be loaded from {model_folder}: CTranslate2 needs the token strings. Save it next to "
            f"the model with hf_attention_zoo.data.subword_tokenizer.save_tokenizers(folder, tokenizer[, target_tokenizer])."
        ) from error

    with torch.no_grad():
        spec = _transformer_spec(ctranslate2, model, max_positions or config.max_position_embeddings)
    spec.register_source_vocabulary(_tokens(source_tokenizer, config.vocab_size, "source"))
    target_tokens = _tokens(target_tokenizer, config.decoder_vocab_size, "target")
    spec.register_target_vocabulary(target_tokens)
    for field, token_id in (
        ("bos_token", config.bos_token_id),
        ("eos_token", config.eos_token_id),
        ("decoder_start_token", config.decoder_start_token_id),
    ):
        if token_id is not None:  # else CTranslate2's default, the same string as ours
            setattr(spec.config, field, target_tokens[token_id])
    spec.config.unk_token = target_tokenizer.unk_token
    spec.config.layer_norm_epsilon = _LAYER_NORM_EPSILON

    class ZooTransformerConverter(ctranslate2.converters.Converter):
        """CTranslate2's converter (validation, quantization, writing) around the spec built above."""

        def _load(self):
            return spec

    ZooTransformerConverter().convert(str(output_dir), quantization=quantization, force=force)
    save_tokenizers(output_dir, source_tokenizer, None if target_tokenizer is source_tokenizer else target_tokenizer)
    return Path(output_dir)


def _transformer_config(model_folder: str | os.PathLike[str]) -> TransformerSeq2SeqConfig:
    """The saved config, refused unless it is the Transformer family."""
    if not Path(model_folder).is_dir():
        raise FileNotFoundError(
            f"{model_folder} is not a folder. Pass a folder written by save_pretrained with the tokenizer saved next "
            f"to the model (for a Hub model: download it first, e.g. huggingface_hub.snapshot_download)."
        )
    config = AutoConfig.from_pretrained(model_folder)
    zoo_family = next((family for family in FAMILIES.values() if isinstance(config, family.config_class)), None)
    if zoo_family is not None and "ctranslate2" not in zoo_family.exports:
        exporters = [family.name for family in FAMILIES.values() if "ctranslate2" in family.exports]
        raise NotImplementedError(
            f"{model_folder} holds a model of the {zoo_family.name} family ({type(config).__name__}); CTranslate2 has "
            f"no specification for it (its seq2seq spec is the Transformer; the recurrent models have none), so only "
            f"these families export: {', '.join(exporters)}."
        )
    if not isinstance(config, TransformerSeq2SeqConfig):
        raise ValueError(
            f"{model_folder} holds a {type(config).__name__}, not a zoo Transformer (TransformerSeq2SeqConfig). For a "
            f"transformers model use CTranslate2's own converter: ct2-transformers-converter --model {model_folder}."
        )
    return config


def _transformer_spec(ctranslate2, model: TransformerSeq2SeqForConditionalGeneration, max_positions: int):
    """`ctranslate2.specs.TransformerSpec` holding the model's weights (the mapping of the module docstring)."""
    config = model.config
    specs = ctranslate2.specs
    options = dict(
        pre_norm=config.normalize_before,
        activation=getattr(specs.common_spec.Activation, _ACTIVATIONS[config.activation_function]),
        relative_position=config.position_embedding_type == "relative",
    )
    encoder_spec = specs.TransformerEncoderSpec(config.encoder_layers, config.encoder_attention_heads, **options)
    decoder_spec = specs.TransformerDecoderSpec(config.decoder_layers, config.decoder_attention_heads, **options)
    encoder, decoder = model.model.encoder, model.model.decoder
    sinusoids = None  # learned positions: each stack's own table; relative: none
    if config.position_embedding_type == "sinusoidal":
        sinusoids = sinusoidal_position_encoding(torch.arange(max_positions), config.d_model)  # (max_positions, d)
    _set_stack(encoder_spec, encoder, encoder_spec.embeddings[0], sinusoids)
    _set_stack(decoder_spec, decoder, decoder_spec.embeddings, sinusoids)
    for layer_spec, layer in zip(encoder_spec.layer, encoder.layers):
        _set_attention(layer_spec.self_attention, layer.self_attn, layer.self_attn_sublayer.layer_norm)
        _set_feed_forward(layer_spec.ffn, layer)
    for layer_spec, layer in zip(decoder_spec.layer, decoder.layers):
        _set_attention(layer_spec.self_attention, layer.self_attn, layer.self_attn_sublayer.layer_norm)
        _set_attention(layer_spec.attention, layer.encoder_attn, layer.encoder_attn_sublayer.layer_norm)
        _set_feed_forward(layer_spec.ffn, layer)
    decoder_spec.projection.weight = model.lm_head.weight
    return specs.TransformerSpec(encoder_spec, decoder_spec)


def _set_stack(spec, stack: TransformerStack, embeddings_spec, sinusoids: torch.Tensor | None) -> None:
    """Token embeddings, their sqrt(d_model) scale, absolute positions and the pre-LN final LayerNorm."""
    embeddings_spec.weight = stack.embed_tokens.weight
    spec.scale_embeddings = stack.config.scale_embedding
    if stack.config.position_embedding_type == "sinusoidal":
        spec.position_encodings.encodings = sinusoids
    elif stack.config.position_embedding_type == "learned":
        spec.position_encodings.encodings = stack.embed_positions.weight
    if stack.layer_norm is not None:
        _set_layer_norm(spec.layer_norm, stack.layer_norm)


def _set_attention(spec, attention: MultiHeadAttention, layer_norm: torch.nn.LayerNorm) -> None:
    """Fused projections (same [Q; K; V] / [K; V] row order as CTranslate2's), output projection, relative
    position tables, and the LayerNorm of the sub-layer around it."""
    if attention.is_cross_attention:
        spec.linear[0].weight = attention.q_proj.weight
        spec.linear[1].weight = attention.kv_proj.weight
    else:
        spec.linear[0].weight = attention.qkv_proj.weight
    spec.linear[-1].weight = attention.out_proj.weight
    if attention.relative_positions is not None:
        spec.relative_position_keys = attention.relative_positions.keys.weight
        spec.relative_position_values = attention.relative_positions.values.weight
    _set_layer_norm(spec.layer_norm, layer_norm)


def _set_feed_forward(spec, layer: TransformerEncoderLayer | TransformerDecoderLayer) -> None:
    """§3.3's two linear transformations and the LayerNorm of the sub-layer around them."""
    spec.linear_0.weight, spec.linear_0.bias = layer.feed_forward.fc1.weight, layer.feed_forward.fc1.bias
    spec.linear_1.weight, spec.linear_1.bias = layer.feed_forward.fc2.weight, layer.feed_forward.fc2.bias
    _set_layer_norm(spec.layer_norm, layer.feed_forward_sublayer.layer_norm)


def _set_layer_norm(spec, layer_norm: torch.nn.LayerNorm) -> None:
    spec.gamma, spec.beta = layer_norm.weight, layer_norm.bias


def _tokens(tokenizer, vocab_size: int, side: str) -> list[str]:
    """The token string of every id 0..vocab_size-1; `<unused{id}>` for rows the tokenizer has no token for."""
    if len(tokenizer) > vocab_size:
        raise ValueError(
            f"The {side} tokenizer has {len(tokenizer)} tokens but the model only {vocab_size} {side} embedding "
            f"rows: they were not trained together. Export the tokenizer the model was trained with."
        )
    tokens = tokenizer.convert_ids_to_tokens(list(range(vocab_size)))
    return [token if token is not None else f"<unused{index}>" for index, token in enumerate(tokens)]
