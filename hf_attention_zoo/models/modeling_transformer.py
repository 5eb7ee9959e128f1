"""The Transformer encoder-decoder of "Attention Is All You Need" as a Hugging Face transformers model.

Papers: Vaswani et al. 2017 (arXiv:1706.03762); relative positions: Shaw et al. 2018 (arXiv:1803.02155);
pre-LN option: Xiong et al. 2020 (arXiv:2002.04745).
"""

import math

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import (
    BaseModelOutput,
    BaseModelOutputWithPastAndCrossAttentions,
    Seq2SeqLMOutput,
    Seq2SeqModelOutput,
)

from .configuration_transformer import TransformerSeq2SeqConfig
from .input_validation import check_mask_shape, check_token_ids, source_lengths
from .positional_encoding import build_absolute_position_encoding
from .transformers_compat import CACHE_NAMES, cache_output, output_cache, resolve_cache_argument
from .transformer_attention import additive_attention_mask
from .transformer_layers import TransformerDecoderLayer, TransformerEncoderLayer
from .zoo_pretrained import ZooPreTrainedMixin, ZooSeq2SeqLMMixin


class TransformerStack(nn.Module):
    """What the encoder and decoder stacks share: token embeddings scaled by sqrt(d_model) (§3.4), absolute
    positions (§3.5) and embedding dropout (§5.4), and the final LayerNorm that pre-LN needs."""

    def __init__(self, config: TransformerSeq2SeqConfig, vocab_size: int):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(vocab_size, config.d_model)
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.embed_positions = build_absolute_position_encoding(config)  # None for relative positions
        # Deviation from paper: pre-LN leaves the last sub-layer output unnormalised, so it gets a final LayerNorm.
        self.layer_norm = nn.LayerNorm(config.d_model) if config.normalize_before else None

    def embed(
        self, input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None, past_length: int, name: str
    ) -> torch.Tensor:
        """`(batch, len)` ids or `(batch, len, d_model)` token embeddings -> `(batch, len, d_model)` layer input."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError(f"Pass exactly one of {name} and its *inputs_embeds counterpart.")
        if input_ids is not None:
            check_token_ids(input_ids, self.embed_tokens.num_embeddings, name)
            inputs_embeds = self.embed_tokens(input_ids)
        elif inputs_embeds.shape[1] == 0:
            raise ValueError(f"The inputs_embeds for {name} have sequence length 0: pass at least one position.")
        hidden_states = inputs_embeds * self.embed_scale
        if self.embed_positions is not None:
            hidden_states = hidden_states + self.embed_positions(inputs_embeds, past_length)
        return nn.functional.dropout(hidden_states, p=self.config.dropout, training=self.training)

    def final_norm(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(hidden_states) if self.layer_norm is not None else hidden_states


class TransformerEncoder(TransformerStack):
    """§3.1 encoder: N `TransformerEncoderLayer`s over the embedded source.

    Input `(batch, src_len)` ids, output `BaseModelOutput.last_hidden_state` `(batch, src_len, d_model)`.
    """

    def __init__(self, config: TransformerSeq2SeqConfig):
        super().__init__(config, config.vocab_size)
        self.layers = nn.ModuleList([TransformerEncoderLayer(config, i) for i in range(config.encoder_layers)])

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutput | tuple:
        """Args (HF names): `input_ids` `(batch, src_len)`; `attention_mask` `(batch, src_len)`, 1 = token,
        0 = padding; `inputs_embeds` `(batch, src_len, d_model)` unscaled token embeddings instead of ids."""
        if output_attentions is None:  # called on its own rather than through the model
            output_attentions = self.config.output_attentions
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        hidden_states = self.embed(input_ids, inputs_embeds, 0, "input_ids")
        source_lengths(attention_mask, tuple(hidden_states.shape[:2]), "input_ids" if input_ids is not None else "inputs_embeds")
        src_len = hidden_states.shape[1]
        dtype, device = hidden_states.dtype, hidden_states.device
        mask = additive_attention_mask(attention_mask, src_len, src_len, False, dtype, device)
        all_hidden_states, all_attentions = [], []
        for layer in self.layers:
            if output_hidden_states:
                all_hidden_states.append(hidden_states)
            hidden_states, weights = layer(hidden_states, attention_mask=mask, output_attentions=output_attentions)
            if output_attentions:
                all_attentions.append(weights)
        hidden_states = self.final_norm(hidden_states)
        if output_hidden_states:
            all_hidden_states.append(hidden_states)
        output = BaseModelOutput(
            last_hidden_state=hidden_states,
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,
            attentions=tuple(all_attentions) if output_attentions else None,
        )
        return output if return_dict is not False else output.to_tuple()


class TransformerDecoder(TransformerStack):
    """§3.1 decoder: N `TransformerDecoderLayer`s over the embedded (shifted) target, attending to the encoder.

    Inputs `(batch, tgt_len)` ids and the encoder output `(batch, src_len, d_model)`; output
    `last_hidden_state` `(batch, tgt_len, d_model)` and the updated cache.
    """

    def __init__(self, config: TransformerSeq2SeqConfig):
        super().__init__(config, config.decoder_vocab_size)  # the target side (Marian's convention)
        self.layers = nn.ModuleList([TransformerDecoderLayer(config, i) for i in range(config.decoder_layers)])

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        cache: EncoderDecoderCache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        past_key_values: EncoderDecoderCache | None = None,
    ) -> BaseModelOutputWithPastAndCrossAttentions:
        """Args (HF names): `input_ids` `(batch, tgt_len)` new target tokens (only the last one when decoding with
        a cache); `attention_mask` `(batch, past_len + tgt_len)`; `encoder_hidden_states` `(batch, src_len,
        d_model)`; `encoder_attention_mask` `(batch, src_len)`; `cache` an `EncoderDecoderCache` (or under its
        name up to transformers 5.23, `past_key_values`: see `transformers_compat`)."""
        past_key_values = resolve_cache_argument(cache, past_key_values)
        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache(DynamicCache(config=self.config), DynamicCache(config=self.config))
        past_length = past_key_values.get_seq_length() if past_key_values is not None else 0
        hidden_states = self.embed(input_ids, inputs_embeds, past_length, "decoder_input_ids")
        tgt_len, src_len, dtype, device = (
            hidden_states.shape[1], encoder_hidden_states.shape[1], hidden_states.dtype, hidden_states.device
        )
        self_mask = additive_attention_mask(attention_mask, tgt_len, past_length + tgt_len, True, dtype, device)
        cross_mask = additive_attention_mask(encoder_attention_mask, tgt_len, src_len, False, dtype, device)
        all_hidden_states, all_self_attentions, all_cross_attentions = [], [], []
        for layer in self.layers:
            if output_hidden_states:
                all_hidden_states.append(hidden_states)
            # Tensors that need gradients go in positionally, as gradient checkpointing requires.
            hidden_states, self_weights, cross_weights = layer(
                hidden_states,
                encoder_hidden_states,
                attention_mask=self_mask,
                encoder_attention_mask=cross_mask,
                past_key_values=past_key_values,
                output_attentions=output_attentions,
            )
            if output_attentions:
                all_self_attentions.append(self_weights)
                all_cross_attentions.append(cross_weights)
        hidden_states = self.final_norm(hidden_states)
        if output_hidden_states:
            all_hidden_states.append(hidden_states)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states,
            **cache_output(past_key_values if use_cache else None),
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,
            attentions=tuple(all_self_attentions) if output_attentions else None,
            cross_attentions=tuple(all_cross_attentions) if output_attentions else None,
        )


class TransformerSeq2SeqPreTrainedModel(ZooPreTrainedMixin, PreTrainedModel):
    """Weights initialisation, loading/saving and the hooks transformers needs for the Transformer models."""

    config: TransformerSeq2SeqConfig
    hub_auto_map = {
        "AutoConfig": "configuration_transformer.TransformerSeq2SeqConfig",
        "AutoModel": "modeling_transformer.TransformerSeq2SeqModel",
        "AutoModelForSeq2SeqLM": "modeling_transformer.TransformerSeq2SeqForConditionalGeneration",
    }
    config_class = TransformerSeq2SeqConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["TransformerEncoderLayer", "TransformerDecoderLayer"]
    _skip_keys_device_placement = CACHE_NAMES

    def get_expanded_tied_weights_keys(self, all_submodels: bool = False) -> dict:
        """The `{tied parameter: source parameter}` mapping transformers ties and saves once.

        transformers 5 applies a model's `_tied_weights_keys` only when `config.tie_word_embeddings` is True. Here
        that flag governs the output projection alone and `share_encoder_decoder_embeddings` governs the
        encoder/decoder embeddings, so each class builds `_tied_weights_keys` from both flags in `__init__` and it
        is applied as built.
        """
        if all_submodels:  # walks the submodels, calling this method on each with all_submodels=False
            return super().get_expanded_tied_weights_keys(all_submodels=True)
        return dict(self._tied_weights_keys or {})


class TransformerSeq2SeqModel(TransformerSeq2SeqPreTrainedModel):
    """Vaswani et al. 2017 §3 (Figure 1) without the output projection: encoder and decoder stacks.

    With `share_encoder_decoder_embeddings` (§3.4) both stacks read the `shared` embedding (Bart pattern: their
    `embed_tokens` are tied to it). Output: `Seq2SeqModelOutput`, `last_hidden_state` `(batch, tgt_len, d_model)`.
    """

    _tied_weights_keys = {
        "encoder.embed_tokens.weight": "shared.weight",
        "decoder.embed_tokens.weight": "shared.weight",
    }

    def __init__(self, config: TransformerSeq2SeqConfig):
        super().__init__(config)
        if config.share_encoder_decoder_embeddings:
            self.shared = nn.Embedding(config.vocab_size, config.d_model)
        else:
            self._tied_weights_keys = {}
        self.encoder = TransformerEncoder(config)
        self.decoder = TransformerDecoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared if self.config.share_encoder_decoder_embeddings else self.encoder.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        if self.config.share_encoder_decoder_embeddings:
            self.shared = self.decoder.embed_tokens = value
        self.encoder.embed_tokens = value

    def get_encoder(self) -> TransformerEncoder:
        return self.encoder

    def get_decoder(self) -> TransformerDecoder:
        return self.decoder

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        cache: EncoderDecoderCache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        past_key_values: EncoderDecoderCache | None = None,
    ) -> Seq2SeqModelOutput | tuple:
        """Args (HF names): `input_ids`/`inputs_embeds` the source `(batch, src_len)`; `attention_mask`
        `(batch, src_len)` (1 = token, 0 = padding); `decoder_input_ids`/`decoder_inputs_embeds` the shifted
        target `(batch, tgt_len)`; `decoder_attention_mask` `(batch, past_len + tgt_len)`; `encoder_outputs` to
        skip the encoder; `cache` the `EncoderDecoderCache` of earlier steps (`past_key_values` up to transformers
        5.23); `use_cache` return it."""
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            raise ValueError("Pass decoder_input_ids (the target shifted right; see prepare_decoder_input_ids_from_labels) or labels.")
        if encoder_outputs is None:
            encoder_outputs = self.encoder(
                input_ids, attention_mask, inputs_embeds, output_attentions, output_hidden_states, return_dict=True
            )
        elif not isinstance(encoder_outputs, BaseModelOutput):
            encoder_outputs = BaseModelOutput(*encoder_outputs)
        check_mask_shape(attention_mask, encoder_outputs.last_hidden_state.shape[:2], "the encoder output")
        decoder_outputs = self.decoder(
            input_ids=decoder_input_ids,
            attention_mask=decoder_attention_mask,
            encoder_hidden_states=encoder_outputs.last_hidden_state,
            encoder_attention_mask=attention_mask,
            cache=resolve_cache_argument(cache, past_key_values),
            inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        output = Seq2SeqModelOutput(
            last_hidden_state=decoder_outputs.last_hidden_state,
            **cache_output(output_cache(decoder_outputs)),
            decoder_hidden_states=decoder_outputs.hidden_states,
            decoder_attentions=decoder_outputs.attentions,
            cross_attentions=decoder_outputs.cross_attentions,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=encoder_outputs.hidden_states,
            encoder_attentions=encoder_outputs.attentions,
        )
        return output if return_dict else output.to_tuple()


class TransformerSeq2SeqForConditionalGeneration(ZooSeq2SeqLMMixin, TransformerSeq2SeqPreTrainedModel, GenerationMixin):
    """Vaswani et al. 2017 §3 (Figure 1): the encoder-decoder with its pre-softmax linear transformation (§3.4),
    tied to the embeddings when `tie_word_embeddings`.

    Output: `Seq2SeqLMOutput`, `logits` `(batch, tgt_len, decoder_vocab_size)` and, given `labels`, the mean token
    cross-entropy (-100 ignored). Label smoothing (§5.4) comes from the Trainer's `label_smoothing_factor`.
    `generate()` defaults follow §6.1: beam size 4, length penalty α = 0.6.
    """

    _tied_weights_keys = {"lm_head.weight": "model.shared.weight"}

    def __init__(self, config: TransformerSeq2SeqConfig):
        super().__init__(config)
        self.model = TransformerSeq2SeqModel(config)
        self.lm_head = nn.Linear(config.d_model, config.decoder_vocab_size, bias=False)
        if not config.tie_word_embeddings:
            self._tied_weights_keys = {}
        elif not config.share_encoder_decoder_embeddings:
            self._tied_weights_keys = {"lm_head.weight": "model.decoder.embed_tokens.weight"}
        # §6.1 decoding: beam size 4, length penalty α = 0.6.
        # Deviation from paper: transformers divides a hypothesis' log-probability by length**α, not by Wu et al.'s
        # ((5 + length) / 6)**α that the paper cites.
        self.generation_config.num_beams = 4
        self.generation_config.length_penalty = 0.6
        # Deviation from paper: the output limit is max_position_embeddings tokens (the learned position table's
        # size; also silences generate's default-length warning), not the source length + 50 of §6.1.
        self.generation_config.max_length = config.max_position_embeddings
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        cache: EncoderDecoderCache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        past_key_values: EncoderDecoderCache | None = None,
    ) -> Seq2SeqLMOutput | tuple:
        """Args: as `TransformerSeq2SeqModel.forward`, plus `labels` `(batch, tgt_len)` target ids with -100 where
        no loss is wanted (without `decoder_input_ids` they are shifted right to make them), and
        `num_items_in_batch`, the label-token count the summed loss is divided by (Trainer passes it; see
        `token_cross_entropy`); without it the loss is the mean over this batch's label tokens."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if labels is not None:
            use_cache = False  # training: nothing to decode incrementally
            if decoder_input_ids is None and decoder_inputs_embeds is None:
                decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=decoder_attention_mask,
            encoder_outputs=encoder_outputs,
            cache=resolve_cache_argument(cache, past_key_values),
            inputs_embeds=inputs_embeds,
            decoder_inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.lm_head(outputs.last_hidden_state)  # (batch, tgt_len, decoder_vocab_size)
        loss = None
        if labels is not None:
            loss = self.token_cross_entropy(logits, labels, num_items_in_batch)
        output = Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            **cache_output(output_cache(outputs)),
            decoder_hidden_states=outputs.decoder_hidden_states,
            decoder_attentions=outputs.decoder_attentions,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
            encoder_attentions=outputs.encoder_attentions,
        )
        return output if return_dict else output.to_tuple()

    def _reorder_cache(self, cache: EncoderDecoderCache, beam_idx: torch.Tensor) -> EncoderDecoderCache:
        """The beam-reorder seam (`ZooSeq2SeqLMMixin._reorder_cache`), specialised: reorder the self-attention cache
        only. generate() repeats each source's encoder output for its beams and `beam_idx` moves rows only among the
        beams of one source, so the cross-attention keys/values it would reorder are equal rows; skipping them saves
        two copies per layer and step."""
        cache.self_attention_cache.reorder_cache(beam_idx)
        return cache


__all__ = [
    "TransformerSeq2SeqPreTrainedModel",
    "TransformerSeq2SeqModel",
    "TransformerSeq2SeqForConditionalGeneration",
]
