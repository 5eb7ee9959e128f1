"""Show, Attend and Tell: an LSTM writes a caption while attending over a CNN's grid of annotation vectors.

Papers: Xu et al. 2015 (arXiv:1502.03044), deterministic soft attention (§3.1.2, §4.2); SAGAN self-attention over the
feature map, Zhang et al. 2018 (arXiv:1805.08318).
"""

import os

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput, Seq2SeqModelOutput

from .configuration_show_attend_tell import ShowAttendTellConfig
from .image_encoder import ShowAttendTellImageEncoder
from .input_validation import check_token_ids
from .rnn_attention import AdditiveAttention
from .rnn_cache import RNNDecoderCache
from .transformers_compat import CACHE_NAMES, cache_output, output_cache, resolve_cache_argument
from .zoo_pretrained import ZooPreTrainedMixin, ZooSeq2SeqLMMixin

SHOW_ATTEND_TELL_AUTO_MAP = {
    "AutoConfig": "configuration_show_attend_tell.ShowAttendTellConfig",
    "AutoModel": "modeling_show_attend_tell.ShowAttendTellModel",
    "AutoModelForImageTextToText": "modeling_show_attend_tell.ShowAttendTellForConditionalGeneration",
}


def doubly_stochastic_penalty(weights: torch.Tensor, step_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Xu et al. §4.2.1 eq. 14: Σ_i (1 − Σ_t α_ti)² for every caption, encouraging the model to look at every part
    of the image over the course of the caption.

    Args:
        weights: α (batch, steps, L), each step a distribution over the L grid positions.
        step_mask: (batch, steps), True for the steps that count (not padding); None counts every step.

    Returns:
        (batch,) the penalty of each caption, before the weight λ.
    """
    if step_mask is not None:
        weights = weights * step_mask[..., None].to(weights.dtype)
    return ((1.0 - weights.sum(dim=1)) ** 2).sum(dim=-1)


class ShowAttendTellDecoder(nn.Module):
    """Xu et al. §3.1.2 with deterministic soft attention (§4.2), for caption position t:

        α_t = softmax_i(f_att(a_i, h_{t-1}))           f_att: the additive MLP of Bahdanau et al. (eq. 4-5)
        β_t = σ(f_β(h_{t-1}))                           the gating scalar (§4.2.1)
        ẑ_t = β_t Σ_i α_ti a_i                         the context vector (eq. 13)
        h_t, c_t = LSTM([E y_{t-1}; ẑ_t], h_{t-1}, c_{t-1})   (eq. 1-3: the gates read E y_{t-1}, h_{t-1} and ẑ_t)
        o_t = E y_{t-1} + L_h h_t + L_z ẑ_t             the deep output (eq. 7); p(y_t) = softmax(L_o o_t)
    h_0 = tanh(f_init,h(mean_i a_i)), c_0 = tanh(f_init,c(mean_i a_i)) (§3.1.2). With attention_type "none",
    ẑ_t = mean_i a_i at every step (the baseline without attention), and all steps run in one LSTM call.

    Inputs: caption embeddings (batch, tgt_len, m), annotations a (batch, L, D) and the `RNNDecoderCache` after the
    earlier tokens. Outputs: o (batch, tgt_len, m), α (batch, tgt_len, L) or None, and the LSTM states h
    (batch, tgt_len, n).
    """

    def __init__(self, config: ShowAttendTellConfig, annotation_size: int):
        super().__init__()
        self.config = config
        m, n, d = config.embedding_size, config.hidden_size, annotation_size
        self.embed_tokens = nn.Embedding(config.vocab_size, m, config.pad_token_id)  # E
        self.init_hidden = nn.Linear(d, n)  # f_init,h
        self.init_cell = nn.Linear(d, n)  # f_init,c
        self.attention = AdditiveAttention(n, d, config.attention_hidden_size) if config.attention_type == "soft" else None
        self.gate = nn.Linear(n, 1) if config.gating_scalar and self.attention is not None else None  # f_β
        self.lstm = nn.LSTM(m + d, n, batch_first=True)
        self.output_hidden = nn.Linear(n, m, bias=False)  # L_h
        self.output_context = nn.Linear(d, m, bias=False)  # L_z

    def start(self, annotations: torch.Tensor) -> RNNDecoderCache:
        """The state before the first word, and the image-only half of the attention score (U_a a_i), once per image."""
        mean = annotations.mean(dim=1)  # (batch, D)
        return RNNDecoderCache(
            hidden=torch.tanh(self.init_hidden(mean))[:, None],  # (batch, 1 layer, n)
            cell=torch.tanh(self.init_cell(mean))[:, None],
            attentional=None,
            keys=self.attention.precompute_keys(annotations) if self.attention is not None else None,
            summary=mean if self.attention is None else None,
        )

    def attend(self, cache: RNNDecoderCache, annotations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ẑ_t (batch, 1, D) and α_t (batch, 1, L) from h_{t-1}."""
        previous = cache.hidden[:, -1:]  # h_{t-1}: (batch, 1, n)
        everywhere = annotations.new_ones(annotations.shape[:2], dtype=torch.long)  # no grid position is padding
        context, weights = self.attention(previous, cache.keys, annotations, everywhere)
        if self.gate is not None:
            context = torch.sigmoid(self.gate(previous)) * context  # β_t ẑ_t
        return context, weights

    def run_lstm(self, inputs: torch.Tensor, cache: RNNDecoderCache) -> torch.Tensor:
        state = (cache.hidden.transpose(0, 1).contiguous(), cache.cell.transpose(0, 1).contiguous())
        outputs, (hidden, cell) = self.lstm(inputs, state)
        cache.hidden, cache.cell = hidden.transpose(0, 1), cell.transpose(0, 1)
        return outputs  # (batch, steps, n)

    def forward(self, inputs_embeds, annotations, cache: RNNDecoderCache):
        if self.attention is None:
            contexts = cache.summary[:, None, :].expand(-1, inputs_embeds.shape[1], -1)
            hidden = self.run_lstm(torch.cat([inputs_embeds, contexts], dim=-1), cache)
            weights = None
        else:
            steps_context, steps_weights, steps_hidden = [], [], []
            for t in range(inputs_embeds.shape[1]):
                context, weights = self.attend(cache, annotations)
                steps_hidden.append(self.run_lstm(torch.cat([inputs_embeds[:, t : t + 1], context], dim=-1), cache))
                steps_context.append(context)
                steps_weights.append(weights)
            contexts, weights = torch.cat(steps_context, dim=1), torch.cat(steps_weights, dim=1)
            hidden = torch.cat(steps_hidden, dim=1)
        cache.seen_tokens += inputs_embeds.shape[1]
        output = inputs_embeds + self.output_hidden(hidden) + self.output_context(contexts)  # eq. 7
        return output, weights, hidden


class ShowAttendTellPreTrainedModel(ZooPreTrainedMixin, PreTrainedModel):
    config: ShowAttendTellConfig
    hub_auto_map = SHOW_ATTEND_TELL_AUTO_MAP
    ships_translation_pipeline = False
    base_model_prefix = "model"
    main_input_name = "pixel_values"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = False
    _supports_sdpa = False
    _no_split_modules = ["ShowAttendTellImageEncoder", "ShowAttendTellDecoder"]
    _skip_keys_device_placement = CACHE_NAMES

    def _init_weights(self, module: nn.Module) -> None:
        """Linear and embedding weights ~ N(0, init_std²), biases zero; convolutions Kaiming-normal (He et al. 2015,
        for ReLU networks); batch norm the identity, with fresh running statistics; the LSTM's recurrent matrices orthogonal; SAGAN's γ = 0 (the
        block starts as the identity). A backbone initialises itself."""
        std = self.config.init_std
        if isinstance(module, nn.Conv2d):
            init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            # the running statistics too: a checkpoint that lacks them must not load with uninitialised memory
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)
        elif isinstance(module, nn.LSTM):
            for name, param in module.named_parameters():
                if name.startswith("weight_hh"):
                    for gate in param.data.chunk(4, dim=0):
                        init.orthogonal_(gate)
                elif name.startswith("weight_ih"):
                    init.normal_(param, mean=0.0, std=std)
                else:
                    init.zeros_(param)
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, AdditiveAttention):
            init.zeros_(module.v_a)
        elif type(module).__name__ == "FeatureMapSelfAttention":
            init.zeros_(module.gamma)

    @classmethod
    def _supports_default_dynamic_cache(cls) -> bool:
        # A recurrent decoder: generate() must not pre-build an attention KV cache (see RNNSeq2SeqPreTrainedModel).
        return False


class ShowAttendTellModel(ShowAttendTellPreTrainedModel):
    """Image encoder and caption decoder without the output layer L_o; returns a `Seq2SeqModelOutput`.

    `last_hidden_state` is the deep output o_t (batch, tgt_len, m); `cross_attentions` (with `output_attentions`) a
    1-tuple of α (batch, 1, tgt_len, L), one "head" over the grid in row-major order; `encoder_attentions` the SAGAN
    maps where the encoder has them; `decoder_hidden_states` (with `output_hidden_states`) (embeddings, LSTM h).
    """

    def __init__(self, config: ShowAttendTellConfig):
        super().__init__(config)
        self.encoder = ShowAttendTellImageEncoder(config)
        self.decoder = ShowAttendTellDecoder(config, self.encoder.annotation_size)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.decoder.embed_tokens  # the only word table: the encoder reads pixels

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.decoder.embed_tokens = value

    def get_encoder(self) -> ShowAttendTellImageEncoder:
        return self.encoder

    def get_decoder(self) -> ShowAttendTellDecoder:
        return self.decoder

    def forward(
        self,
        pixel_values: torch.FloatTensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        cache: RNNDecoderCache | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        past_key_values: RNNDecoderCache | None = None,
    ) -> Seq2SeqModelOutput | tuple:
        r"""`decoder_attention_mask` is accepted for API compatibility: the LSTM reads the caption left to right, so
        padding after it never changes the positions before."""
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        if encoder_outputs is None:
            if pixel_values is None:
                raise ValueError("Pass pixel_values (from the image processor) or encoder_outputs.")
            encoder_outputs = self.encoder(pixel_values, output_attentions, output_hidden_states)
        elif not isinstance(encoder_outputs, BaseModelOutput):
            encoder_outputs = BaseModelOutput(*encoder_outputs)
        annotations = encoder_outputs.last_hidden_state  # (batch, L, D)

        if (decoder_input_ids is None) == (decoder_inputs_embeds is None):
            raise ValueError("Pass exactly one of decoder_input_ids, decoder_inputs_embeds or labels.")
        if decoder_inputs_embeds is None:
            check_token_ids(decoder_input_ids, self.config.vocab_size, "decoder_input_ids")
            decoder_inputs_embeds = self.decoder.embed_tokens(decoder_input_ids)
        cache = resolve_cache_argument(cache, past_key_values)
        if cache is not None and not isinstance(cache, RNNDecoderCache):
            raise TypeError(f"cache must be the RNNDecoderCache this model returned, got {type(cache).__name__}.")
        if cache is None:
            cache = self.decoder.start(annotations)
        output, weights, hidden = self.decoder(decoder_inputs_embeds, annotations, cache)

        result = Seq2SeqModelOutput(
            last_hidden_state=output,
            **cache_output(cache if use_cache else None),
            decoder_hidden_states=(decoder_inputs_embeds, hidden) if output_hidden_states else None,
            cross_attentions=(weights.unsqueeze(1),) if output_attentions and weights is not None else None,
            encoder_last_hidden_state=annotations,
            encoder_hidden_states=encoder_outputs.hidden_states,
            encoder_attentions=encoder_outputs.attentions,
        )
        return result if return_dict is not False else result.to_tuple()


class ShowAttendTellForConditionalGeneration(ZooSeq2SeqLMMixin, ShowAttendTellPreTrainedModel, GenerationMixin):
    """`ShowAttendTellModel` with the output layer p(y_t | a, y_<t) = softmax(L_o o_t) (eq. 7); `generate()` writes
    captions greedily, with beam search or by sampling. The loss adds the doubly stochastic regulariser."""

    _tied_weights_keys = {"lm_head.weight": "model.decoder.embed_tokens.weight"}

    def __init__(self, config: ShowAttendTellConfig):
        super().__init__(config)
        self.model = ShowAttendTellModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.lm_head = nn.Linear(config.embedding_size, config.vocab_size, bias=False)  # L_o
        self.post_init()

    def load_backbone_weights(self, folder: str | os.PathLike) -> None:
        """Copy the weights of a transformers backbone saved in `folder` (e.g. `AutoBackbone.from_pretrained(...)`
        then `save_pretrained(folder)`) into this model's backbone; both must have the same architecture."""
        if self.config.backbone_config is None:
            raise ValueError("This model has the small CNN, not a backbone: build it with backbone_config=... first.")
        backbone = self.model.encoder.backbone
        # The backbone's own class, not AutoBackbone: AutoBackbone.from_pretrained (transformers 5.24) asks the Hub
        # whether the name exists before it looks for a local folder, and fails offline.
        pretrained = type(backbone).from_pretrained(os.fspath(folder))
        backbone.load_state_dict(pretrained.state_dict())

    def forward(
        self,
        pixel_values: torch.FloatTensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        cache: RNNDecoderCache | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        past_key_values: RNNDecoderCache | None = None,
    ) -> Seq2SeqLMOutput | tuple:
        r"""`labels` (batch, tgt_len): caption ids ending in eos, -100 where no loss is wanted; without decoder inputs,
        the decoder reads them shifted right. The loss is Xu et al.'s per-caption objective −log p(y|a) +
        λ Σ_i (1 − Σ_t α_ti)² (eq. 14) summed over the batch and divided by its label tokens (or by
        `num_items_in_batch`, which Trainer passes), so that it is the token-mean cross-entropy plus the regulariser
        on the same scale."""
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        regularize = labels is not None and self.config.attention_type == "soft" and self.config.doubly_stochastic_weight > 0
        outputs = self.model(
            pixel_values, decoder_input_ids, decoder_attention_mask, encoder_outputs,
            resolve_cache_argument(cache, past_key_values), decoder_inputs_embeds, use_cache,
            output_attentions or regularize, output_hidden_states, return_dict=True,
        )
        logits = self.lm_head(self.dropout(outputs.last_hidden_state))  # (batch, tgt_len, vocab)
        loss = None
        if labels is not None:
            step_mask = labels != -100
            tokens = num_items_in_batch if num_items_in_batch is not None else step_mask.sum()
            loss = self.token_cross_entropy(logits, labels, tokens)
            if regularize:
                penalty = doubly_stochastic_penalty(outputs.cross_attentions[0][:, 0], step_mask).sum()
                if torch.is_tensor(tokens):
                    tokens = tokens.to(penalty.device)
                loss = loss + self.config.doubly_stochastic_weight * penalty / tokens
        result = Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            **cache_output(output_cache(outputs)),
            decoder_hidden_states=outputs.decoder_hidden_states,
            cross_attentions=outputs.cross_attentions if output_attentions else None,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
            encoder_attentions=outputs.encoder_attentions,
        )
        return result if return_dict is not False else result.to_tuple()


__all__ = [
    "ShowAttendTellPreTrainedModel",
    "ShowAttendTellModel",
    "ShowAttendTellForConditionalGeneration",
    "ShowAttendTellDecoder",
    "doubly_stochastic_penalty",
]
