"""RNN encoder-decoders: the context-vector seq2seq and attention seq2seq with Bahdanau or Luong wiring.

Papers: Sutskever et al. 2014 (arXiv:1409.3215), Cho et al. 2014 (arXiv:1406.1078),
Bahdanau et al. 2015 (arXiv:1409.0473), Luong et al. 2015 (arXiv:1508.04025).
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput, Seq2SeqModelOutput

from .configuration_rnn_seq2seq import RNNSeq2SeqConfig
from .zoo_pretrained import ZooPreTrainedMixin, ZooSeq2SeqLMMixin
from .input_validation import check_mask_shape, check_token_ids, source_lengths
from .rnn_attention import AdditiveAttention, build_rnn_attention
from .rnn_cache import RNNDecoderCache
from .rnn_cells import ResetBeforeGRU, gather_positions, orthogonal_per_gate_, reverse_prefix_index
from .transformers_compat import CACHE_NAMES, cache_output, output_cache, resolve_cache_argument

RNN_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def build_rnn(config: RNNSeq2SeqConfig, input_size: int, hidden_size: int, bidirectional: bool = False) -> nn.Module:
    """One recurrent layer (batch first) of the configured cell."""
    if config.cell_type == "gru" and config.gru_reset == "before":
        return ResetBeforeGRU(input_size, hidden_size, bidirectional=bidirectional)
    return RNN_CELLS[config.cell_type](input_size, hidden_size, batch_first=True, bidirectional=bidirectional)

RNN_AUTO_MAP = {
    "AutoConfig": "configuration_rnn_seq2seq.RNNSeq2SeqConfig",
    "AutoModel": "modeling_rnn_seq2seq.RNNSeq2SeqModel",
    "AutoModelForSeq2SeqLM": "modeling_rnn_seq2seq.RNNSeq2SeqForConditionalGeneration",
}


@dataclass
class RNNEncoderOutput(BaseModelOutput):
    """`BaseModelOutput` plus each layer's final recurrent state, which Sutskever et al. and Luong et al. copy into
    the decoder (`decoder_init="encoder_final"`) and Bahdanau et al. bridge from (h<-_1).

    final_hidden_state (batch, encoder_layers, directions · encoder_hidden_size): per layer, the forward state after
        the last token read and, when bidirectional, the backward state after the first, [h->_T; h<-_1].
    final_cell_state: the same for an LSTM's memory cells; None for other cells.
    """

    final_hidden_state: torch.Tensor | None = None
    final_cell_state: torch.Tensor | None = None


def run_rnn(rnn: nn.Module, inputs: torch.Tensor, lengths: torch.Tensor | None, state=None):
    """Run `rnn` over (batch, seq_len, size) `inputs`, packing when rows are padded so that a padded row gives
    exactly the states of the same row alone (and the backward direction starts at its last real token)."""
    if isinstance(rnn, ResetBeforeGRU):
        return rnn(inputs, state, lengths=lengths)
    if lengths is None:
        return rnn(inputs, state)
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    outputs, final = rnn(packed, state)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=inputs.shape[1])
    return outputs, final


def summarize_source(
    encoder_hidden_states: torch.Tensor, encoder_attention_mask: torch.Tensor, bidirectional: bool
) -> torch.Tensor:
    """The fixed-size source summary (batch, encoder_size): the forward RNN's state after the last real token
    (Sutskever et al. §2, Cho et al. §2.2 "c"), and with a bidirectional encoder the backward RNN's state after
    reading back to the first token, h<-_1 (Bahdanau et al. App. A.2.2)."""
    batch = torch.arange(encoder_hidden_states.shape[0], device=encoder_hidden_states.device)
    last = encoder_attention_mask.long().sum(dim=1) - 1
    final = encoder_hidden_states[batch, last]  # (batch, encoder_size)
    if not bidirectional:
        return final
    half = encoder_hidden_states.shape[-1] // 2
    return torch.cat([final[:, :half], encoder_hidden_states[:, 0, half:]], dim=-1)


class Maxout(nn.Module):
    """Goodfellow et al. 2013 (arXiv:1302.4389): a linear map to `pool × out` units, then the max of each pool.

    Bahdanau et al. App. A.2.2 use it for the deep output t_i = max-pool_2(U_o s + V_o E y_{i-1} + C_o c_i).
    """

    def __init__(self, in_features: int, out_features: int, pool_size: int = 2):
        super().__init__()
        self.pool_size = pool_size
        self.linear = nn.Linear(in_features, out_features * pool_size)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        units = self.linear(inputs)  # (..., out * pool)
        return units.unflatten(-1, (-1, self.pool_size)).amax(dim=-1)  # (..., out)


class RNNSeq2SeqEncoder(nn.Module):
    """Bahdanau et al. §3.2: a stack of (bidirectional) RNNs reads the source; annotation h_j = [h->_j; h<-_j].

    Inputs: input_ids (batch, src_len) and a right-padded attention_mask. Output: `RNNEncoderOutput` with
    `last_hidden_state` (batch, src_len, encoder_size), zeros at padded positions; `hidden_states` = (embeddings,
    layer 1, ...); each layer's final states. With `reverse_source` the RNNs read each row's tokens backwards (a
    final eos stays last, Sutskever et al. §3.3) and the states come back in the source's own order. An RNN has no
    self-attention, so `attentions` is always None.
    """

    def __init__(self, config: RNNSeq2SeqConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.embedding_size, config.pad_token_id)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(
            build_rnn(
                config,
                config.embedding_size if i == 0 else config.encoder_output_size,
                config.encoder_hidden_size,
                bidirectional=config.bidirectional_encoder,
            )
            for i in range(config.encoder_layers)
        )

    def reading_order(self, input_ids: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, src_len) positions in the order the RNNs read them with `reverse_source`: each row's real tokens
        backwards, a final eos kept last (Sutskever et al.'s sources end in <EOS>), padding in place."""
        batch, seq_len = input_ids.shape
        if lengths is None:
            lengths = input_ids.new_full((batch,), seq_len)
        lengths = lengths.to(input_ids.device)
        last_token = input_ids.gather(1, (lengths - 1).clamp(min=0)[:, None])[:, 0]
        ends_with_eos = (last_token == self.config.eos_token_id) & (lengths > 0)
        return reverse_prefix_index(lengths - ends_with_eos.long(), seq_len)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> RNNEncoderOutput | tuple:
        r"""`reverse_source` reorders `input_ids`; `inputs_embeds` are read in the order given (they carry no eos
        to keep last), so pass them already reversed."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids or inputs_embeds to the encoder.")
        if inputs_embeds is None:
            check_token_ids(input_ids, self.config.vocab_size, "input_ids")
            inputs_embeds = self.embed_tokens(input_ids)
        inputs_name = "input_ids" if input_ids is not None else "inputs_embeds"
        lengths = source_lengths(attention_mask, tuple(inputs_embeds.shape[:2]), inputs_name)
        order = self.reading_order(input_ids, lengths) if self.config.reverse_source and input_ids is not None else None

        hidden = inputs_embeds if order is None else gather_positions(inputs_embeds, order)
        all_hidden_states, final_hidden, final_cell = (inputs_embeds,), [], []
        for layer in self.layers:
            hidden, final = run_rnn(layer, self.dropout(hidden), lengths)  # (batch, src_len, encoder_size)
            if isinstance(final, tuple):  # an LSTM's (h_n, c_n)
                final, cell = final
                final_cell.append(cell.transpose(0, 1).flatten(1))  # (batch, directions · hidden)
            final_hidden.append(final.transpose(0, 1).flatten(1))
            all_hidden_states += (hidden if order is None else gather_positions(hidden, order),)

        output = RNNEncoderOutput(
            last_hidden_state=all_hidden_states[-1],
            hidden_states=all_hidden_states if output_hidden_states else None,
            final_hidden_state=torch.stack(final_hidden, dim=1),
            final_cell_state=torch.stack(final_cell, dim=1) if final_cell else None,
        )
        return output if return_dict is not False else output.to_tuple()


class RNNSeq2SeqDecoder(nn.Module):
    """The attention decoder, one of two wirings (see `RNNSeq2SeqConfig`), or the context-vector decoder.

    "bahdanau" (Bahdanau et al. §3.1, App. A.2.2), for target position i:
        c_i = attend(s_{i-1}, h);  s_i = RNN([E y_{i-1}; c_i], s_{i-1});  o_i = maxout([s_i; c_i; E y_{i-1}])
    "luong" (Luong et al. §3, eq. 5), for target position t:
        h_t = RNN([E y_{t-1}; h~_{t-1} if input feeding], h_{t-1});  c_t = attend(h_t, h);
        o_t = h~_t = tanh(W_c [c_t; h_t])
    With attention_type "none", c is the fixed source summary at every step (Cho et al. 2014 §2.2), or, with
    `decoder_reads_context=False`, the decoder sees the source only through its initial state and the output is the
    top state h_t (Sutskever et al. 2014 §2).

    Inputs: decoder input embeddings (batch, tgt_len, embedding_size), the encoder states (batch, src_len,
    encoder_size) and mask (batch, src_len), and an `RNNDecoderCache` holding the state after earlier tokens.
    Outputs: o (batch, tgt_len, hidden), alignment weights (batch, tgt_len, src_len) or None, and the outputs
    of every RNN layer (each (batch, tgt_len, hidden)).
    """

    def __init__(self, config: RNNSeq2SeqConfig):
        super().__init__()
        self.config = config
        hidden, context = config.hidden_size, config.encoder_output_size
        self.embed_tokens = nn.Embedding(config.decoder_vocab_size, config.embedding_size, config.pad_token_id)
        self.dropout = nn.Dropout(config.dropout)
        input_size = config.embedding_size
        if config.attention_wiring == "bahdanau":
            input_size += context
        if config.input_feeding:
            input_size += hidden
        self.layers = nn.ModuleList(
            build_rnn(config, input_size if i == 0 else hidden, hidden) for i in range(config.decoder_layers)
        )
        self.attention = build_rnn_attention(config.attention_type, hidden, context, config.attention_hidden_size)
        if config.context_projection:
            self.context_projection = nn.Linear(context, context, bias=False)  # V, Cho et al. App. A.1.1
        if config.attention_wiring == "bahdanau":
            # Deviation from paper: the maxout readout reads s_i, as Bahdanau et al.'s eq. 4 and Cho et al. App.
            # A.1.2 do, and Nematus; Bahdanau et al.'s App. A.2.2 writes s_{i-1}.
            self.readout = Maxout(hidden + context + config.embedding_size, config.readout_size)
        elif config.decoder_reads_context:
            self.attentional_projection = nn.Linear(context + hidden, hidden, bias=False)  # W_c, Luong eq. 5
        if config.decoder_init == "bridge":
            state_size = hidden * (2 if config.cell_type == "lstm" else 1)
            bridge_input = config.encoder_hidden_size if config.bridge_source == "backward" else context
            # W_s of Bahdanau et al. App. A.2.2, V' of Cho et al. App. A.1.2
            self.bridge = nn.Linear(bridge_input, config.decoder_layers * state_size, bias=config.bridge_bias)

    def start(
        self,
        encoder_hidden_states: torch.Tensor,
        encoder_attention_mask: torch.Tensor,
        final_hidden_state: torch.Tensor | None = None,
        final_cell_state: torch.Tensor | None = None,
    ) -> RNNDecoderCache:
        """The state before the first target token, and the source-only attention work, done once per source.
        `final_*_state` are the encoder's (`RNNEncoderOutput`); without them the top layer's final states are read
        off `encoder_hidden_states`, which is only possible for sources read in their own order."""
        config, batch = self.config, encoder_hidden_states.shape[0]
        if final_hidden_state is None:
            if config.reverse_source or config.decoder_init == "encoder_final":
                raise ValueError(
                    "This model starts its decoder from the encoder's final states (reverse_source or "
                    "decoder_init='encoder_final'), which `encoder_outputs` lacks: pass the RNNEncoderOutput the "
                    "model's encoder returns (model.get_encoder()(input_ids, attention_mask)), not a tuple."
                )
            summary = summarize_source(encoder_hidden_states, encoder_attention_mask, config.bidirectional_encoder)
        else:
            summary = final_hidden_state[:, -1]  # the top layer's [h->_T; h<-_1], (batch, encoder_size)
        if config.context_projection:
            summary = torch.tanh(self.context_projection(summary))  # c = tanh(V h_N), Cho et al. App. A.1.1
        shape = (batch, config.decoder_layers, config.hidden_size)
        if config.decoder_init == "bridge":
            bridge_input = summary[:, config.encoder_hidden_size :] if config.bridge_source == "backward" else summary
            # Every layer starts from its slice of tanh(W_s summary); the papers that bridge have one layer.
            states = torch.tanh(self.bridge(bridge_input)).view(batch, config.decoder_layers, -1)
            hidden, cell = states[..., : config.hidden_size], states[..., config.hidden_size :]
        elif config.decoder_init == "encoder_final":
            hidden, cell = final_hidden_state, final_cell_state  # (batch, layers, hidden), Sutskever et al. §2
        else:
            hidden = cell = summary.new_zeros(shape)
        return RNNDecoderCache(
            hidden=hidden.contiguous(),
            cell=cell.contiguous() if config.cell_type == "lstm" else None,
            attentional=summary.new_zeros(batch, config.hidden_size) if config.input_feeding else None,
            keys=self.attention.precompute_keys(encoder_hidden_states) if self.attention is not None else None,
            summary=summary if self.attention is None and config.decoder_reads_context else None,
        )

    def run_layers(self, inputs: torch.Tensor, cache: RNNDecoderCache) -> list[torch.Tensor]:
        """Advance every layer over (batch, steps, size) `inputs` from the cached state; update the cache."""
        outputs, hidden, cell = [], [], []
        layer_input = inputs
        for i, layer in enumerate(self.layers):
            h0 = cache.hidden[:, i].unsqueeze(0).contiguous()  # (1, batch, hidden)
            if cache.cell is not None:
                layer_output, (h, c) = layer(layer_input, (h0, cache.cell[:, i].unsqueeze(0).contiguous()))
                cell.append(c[0])
            else:
                layer_output, h = layer(layer_input, h0)
            hidden.append(h[0])
            outputs.append(layer_output)
            layer_input = self.dropout(layer_output)
        cache.hidden = torch.stack(hidden, dim=1)
        cache.cell = torch.stack(cell, dim=1) if cell else None
        return outputs

    def attend(self, query, cache, encoder_hidden_states, encoder_attention_mask):
        """Context (batch, steps, encoder_size) and weights (batch, steps, src_len), or the fixed summary."""
        if self.attention is None:
            return cache.summary[:, None, :].expand(-1, query.shape[1], -1), None
        return self.attention(query, cache.keys, encoder_hidden_states, encoder_attention_mask)

    def bahdanau_step(self, embeds, cache, encoder_hidden_states, encoder_attention_mask):
        """One target position (embeds (batch, 1, embedding_size)) with the Bahdanau wiring."""
        previous_state = cache.hidden[:, -1:]  # s_{i-1}: the top layer's state, (batch, 1, hidden)
        context, weights = self.attend(previous_state, cache, encoder_hidden_states, encoder_attention_mask)
        layer_outputs = self.run_layers(torch.cat([embeds, context], dim=-1), cache)
        output = self.readout(torch.cat([layer_outputs[-1], context, embeds], dim=-1))
        return output, weights, layer_outputs

    def luong_steps(self, embeds, cache, encoder_hidden_states, encoder_attention_mask):
        """Target positions with the Luong wiring. Without input feeding the RNN does not depend on the
        attention, so all positions run at once; with input feeding `embeds` is one position."""
        inputs = embeds
        if self.config.input_feeding:
            inputs = torch.cat([embeds, cache.attentional[:, None, :]], dim=-1)
        layer_outputs = self.run_layers(inputs, cache)
        top = layer_outputs[-1]  # h_t, (batch, steps, hidden)
        if not self.config.decoder_reads_context:
            return top, None, layer_outputs  # the softmax reads the top LSTM state (Sutskever et al. §2)
        context, weights = self.attend(top, cache, encoder_hidden_states, encoder_attention_mask)
        attentional = torch.tanh(self.attentional_projection(torch.cat([context, top], dim=-1)))  # h~_t
        if self.config.input_feeding:
            cache.attentional = attentional[:, -1]
        return attentional, weights, layer_outputs

    def forward(self, inputs_embeds, encoder_hidden_states, encoder_attention_mask, cache: RNNDecoderCache):
        embeds = self.dropout(inputs_embeds)
        args = (cache, encoder_hidden_states, encoder_attention_mask)
        if self.config.attention_wiring == "luong" and not self.config.input_feeding:
            output, weights, layer_outputs = self.luong_steps(embeds, *args)
        else:
            step = self.bahdanau_step if self.config.attention_wiring == "bahdanau" else self.luong_steps
            steps = [step(embeds[:, t : t + 1], *args) for t in range(embeds.shape[1])]
            output = torch.cat([s[0] for s in steps], dim=1)
            weights = torch.cat([s[1] for s in steps], dim=1) if self.attention is not None else None
            layer_outputs = [torch.cat(per_layer, dim=1) for per_layer in zip(*(s[2] for s in steps))]
        cache.seen_tokens += embeds.shape[1]
        return output, weights, layer_outputs


class RNNSeq2SeqPreTrainedModel(ZooPreTrainedMixin, PreTrainedModel):
    config: RNNSeq2SeqConfig
    hub_auto_map = RNN_AUTO_MAP
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _supports_sdpa = False
    # The units that stay whole on one device (`device_map="auto"`) and that FSDP wraps as one shard each: the
    # encoder and the decoder; a recurrent stack cannot be cut between time steps or layers of one step.
    _no_split_modules = ["RNNSeq2SeqEncoder", "RNNSeq2SeqDecoder"]
    _skip_keys_device_placement = CACHE_NAMES

    def _init_weights(self, module: nn.Module) -> None:
        """Bahdanau et al. App. B.1 (and Cho et al. App. A.2): each gate block of a recurrent matrix (U, U_z, U_r)
        random orthogonal; W_a, U_a ~ N(0, 0.001^2); v_a and all biases zero; every other weight ~ N(0, init_std^2)
        (0.01 in the papers). With `init_range`, every parameter ~ U(-init_range, init_range) instead (Sutskever
        et al. §3.4, Luong et al. §4.1). Padding rows of the embeddings start at zero either way.

        transformers visits children before their parent, so the AdditiveAttention branch overrides the generic
        Linear rule for W_a, U_a and v_a."""
        std, bound = self.config.init_std, self.config.init_range
        if bound is not None:
            for param in module.parameters(recurse=False):
                init.uniform_(param, -bound, bound)
        elif isinstance(module, AdditiveAttention):
            init.normal_(module.query_projection.weight, mean=0.0, std=0.001)
            init.normal_(module.key_projection.weight, mean=0.0, std=0.001)
            init.zeros_(module.v_a)
        elif isinstance(module, (nn.RNNBase, ResetBeforeGRU)):
            for name, param in module.named_parameters():
                if name.startswith("weight_hh"):
                    orthogonal_per_gate_(param)
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
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            init.zeros_(module.weight[module.padding_idx])

    @classmethod
    def _supports_default_dynamic_cache(cls) -> bool:
        # generate() would pre-build an attention KV cache (EncoderDecoderCache) that a recurrent decoder cannot
        # use; returning False makes it pass None, and the model starts its own RNNDecoderCache on the first step.
        return False


class RNNSeq2SeqModel(RNNSeq2SeqPreTrainedModel):
    """The encoder-decoder without the output projection; returns a `Seq2SeqModelOutput`.

    `last_hidden_state` is o_t, the vector the output layer reads (batch, tgt_len, hidden_size);
    `cross_attentions` (with `output_attentions=True`) is a 1-tuple of alignment weights shaped
    (batch, 1, tgt_len, src_len), one "head", as the attention maps of the papers' figures;
    `decoder_hidden_states` (with `output_hidden_states=True`) is (embeddings, layer 1, ..., layer L);
    `cache` is the `RNNDecoderCache` for incremental decoding (`past_key_values`, its name up to transformers 5.23,
    is accepted too: see `transformers_compat`).
    """

    def __init__(self, config: RNNSeq2SeqConfig):
        super().__init__(config)
        self.encoder = RNNSeq2SeqEncoder(config)
        self.decoder = RNNSeq2SeqDecoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.encoder.embed_tokens = value

    def get_encoder(self) -> RNNSeq2SeqEncoder:
        return self.encoder

    def get_decoder(self) -> RNNSeq2SeqDecoder:
        return self.decoder

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        cache: RNNDecoderCache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        past_key_values: RNNDecoderCache | None = None,
    ) -> Seq2SeqModelOutput | tuple:
        r"""`decoder_attention_mask` is accepted for API compatibility: a recurrent decoder reads its inputs left to
        right, so padding after a target sequence never influences the positions before it."""
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, inputs_embeds, output_hidden_states=output_hidden_states)
        elif not isinstance(encoder_outputs, BaseModelOutput):
            encoder_outputs = BaseModelOutput(*encoder_outputs)  # a tuple: the final states cannot be told apart
        encoder_hidden_states = encoder_outputs.last_hidden_state
        check_mask_shape(attention_mask, encoder_hidden_states.shape[:2], "the encoder output")
        if attention_mask is None:
            attention_mask = encoder_hidden_states.new_ones(encoder_hidden_states.shape[:2], dtype=torch.long)

        if (decoder_input_ids is None) == (decoder_inputs_embeds is None):
            raise ValueError("Pass exactly one of decoder_input_ids, decoder_inputs_embeds or labels.")
        if decoder_inputs_embeds is None:
            check_token_ids(decoder_input_ids, self.config.decoder_vocab_size, "decoder_input_ids")
            decoder_inputs_embeds = self.decoder.embed_tokens(decoder_input_ids)
        cache = resolve_cache_argument(cache, past_key_values)
        if cache is not None and not isinstance(cache, RNNDecoderCache):
            raise TypeError(f"cache must be the RNNDecoderCache this model returned, got {type(cache).__name__}.")
        if cache is None:
            cache = self.decoder.start(
                encoder_hidden_states, attention_mask,
                getattr(encoder_outputs, "final_hidden_state", None), getattr(encoder_outputs, "final_cell_state", None),
            )
        output, weights, layer_outputs = self.decoder(decoder_inputs_embeds, encoder_hidden_states, attention_mask, cache)

        result = Seq2SeqModelOutput(
            last_hidden_state=output,
            **cache_output(cache if use_cache else None),
            decoder_hidden_states=(decoder_inputs_embeds, *layer_outputs) if output_hidden_states else None,
            cross_attentions=(weights.unsqueeze(1),) if output_attentions and weights is not None else None,
            encoder_last_hidden_state=encoder_hidden_states,
            encoder_hidden_states=encoder_outputs.hidden_states,
        )
        return result if return_dict is not False else result.to_tuple()


class RNNSeq2SeqForConditionalGeneration(ZooSeq2SeqLMMixin, RNNSeq2SeqPreTrainedModel, GenerationMixin):
    """`RNNSeq2SeqModel` with the output softmax layer p(y_t | y_<t, x) = softmax(W_o o_t); `generate()` decodes
    greedily, with beam search or by sampling through the recurrent `RNNDecoderCache`."""

    _tied_weights_keys = {"lm_head.weight": "model.decoder.embed_tokens.weight"}

    def __init__(self, config: RNNSeq2SeqConfig):
        super().__init__(config)
        self.model = RNNSeq2SeqModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.lm_head = nn.Linear(config.output_size, config.decoder_vocab_size, bias=False)  # W_o
        self.post_init()

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        cache: RNNDecoderCache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        past_key_values: RNNDecoderCache | None = None,
    ) -> Seq2SeqLMOutput | tuple:
        r"""`labels` (batch, tgt_len): target ids, -100 where no loss is wanted; when given without decoder inputs,
        the decoder inputs are the labels shifted right. The loss is the mean token cross-entropy, or the summed
        one divided by `num_items_in_batch` when given (Trainer passes it; see `token_cross_entropy`). Label
        smoothing comes from the Trainer's `label_smoothing_factor`."""
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
        outputs = self.model(
            input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
            resolve_cache_argument(cache, past_key_values), inputs_embeds, decoder_inputs_embeds, use_cache,
            output_attentions, output_hidden_states, return_dict=True,
        )
        logits = self.lm_head(self.dropout(outputs.last_hidden_state))  # (batch, tgt_len, decoder_vocab_size)
        loss = None
        if labels is not None:
            loss = self.token_cross_entropy(logits, labels, num_items_in_batch)
        result = Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            **cache_output(output_cache(outputs)),
            decoder_hidden_states=outputs.decoder_hidden_states,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
        )
        return result if return_dict is not False else result.to_tuple()


__all__ = [
    "RNNSeq2SeqPreTrainedModel",
    "RNNSeq2SeqModel",
    "RNNSeq2SeqForConditionalGeneration",
    "RNNSeq2SeqEncoder",
    "RNNSeq2SeqDecoder",
]
