"""The cross-attention map of each hypothesis `generate()` returns (traced through beam search) or of given sequences
(one teacher-forced pass), hard alignments from it in the Pharaoh "i-j" format, and labelled heatmaps.

Papers: Bahdanau et al. 2015 (arXiv:1409.0473) §5.2.1, Fig. 3 (the alignment heatmaps); Luong et al. 2015
(arXiv:1508.04025) §5.4; Vaswani et al. 2017 (arXiv:1706.03762) §3.2.2; alignment by the attention argmax: Garg et
al. 2019 (arXiv:1909.02074) §2; the "i-j" format of fast_align: Dyer et al. 2013 (NAACL, aclanthology N13-1073).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

# Shown instead of the tokenizer's word-boundary marker in plot labels: "▁" looks like "_", which dates contain.
VISIBLE_SPACE = "␣"
PLOT_FORMATS = (".png", ".pdf", ".svg")


@dataclass
class HypothesisAttention:
    """The cross-attention of one output sequence over its source, trimmed to real tokens on both sides.

    Attributes:
        source_index: the row of `input_ids` this hypothesis translates; hypotheses come grouped by source, k per
            source (generate's `num_return_sequences`), so hypothesis h translates source h // k.
        source_ids: (src_len,) the source's real tokens (where its attention_mask is 1), its eos included.
        target_ids: (tgt_len,) the output tokens: the decoder start token excluded, up to and including the first
            end-of-sequence token (every generated token when the length limit came first). Row t of `weights` is
            the attention paid while predicting target_ids[t].
        weights: (layers, heads, tgt_len, src_len) attention weights; each row sums to 1 over the source. The RNN
            family has one layer and one "head" (its alignment weights alpha_ij, Bahdanau et al. eq. 6); the
            Transformer one entry per decoder layer and head (encoder-decoder attention, Vaswani et al. §3.2.3).
        eos_token_ids: the model's end-of-sequence ids, which `alignment` leaves out.
    """

    source_index: int
    source_ids: torch.Tensor
    target_ids: torch.Tensor
    weights: torch.Tensor
    eos_token_ids: tuple[int, ...]

    @property
    def source_length(self) -> int:
        return self.weights.shape[-1]

    @property
    def target_length(self) -> int:
        return self.weights.shape[-2]

    def alignment(self, layer: int | None = None, head: int | None = None) -> str:
        """The Pharaoh alignment (`pharaoh_alignment`) of `select_attention(weights, layer, head)`, leaving out the
        source's final eos and the target's eos where this hypothesis has them."""
        return pharaoh_alignment(select_attention(self.weights, layer, head),
                                 source_eos=self._ends_with_eos(self.source_ids),
                                 target_eos=self._ends_with_eos(self.target_ids))

    def _ends_with_eos(self, ids: torch.Tensor) -> bool:
        return len(ids) > 0 and int(ids[-1]) in self.eos_token_ids


_NO_ATTENTION = (
    "{model} returned no cross-attention weights: a model without attention (an RNN seq2seq with "
    "attention_type='none', i.e. the context-vector models of Cho et al. and Sutskever et al., or the captioner's "
    "no-attention baseline) has no attention map. "
    "Use a model with attention."
)


def _eos_token_ids(model) -> tuple[int, ...]:
    eos = model.generation_config.eos_token_id
    eos = model.config.eos_token_id if eos is None else eos
    if eos is None:
        return ()
    return tuple(int(i) for i in eos) if isinstance(eos, (list, tuple)) else (int(eos),)


def _check_sources(input_ids: torch.Tensor, attention_mask: torch.Tensor | None, sequences: torch.Tensor) -> int:
    """The number of sequences per source, after checking that the shapes fit."""
    if attention_mask is not None and attention_mask.shape != input_ids.shape:
        raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)} but input_ids "
                         f"{tuple(input_ids.shape)}; pass the mask the tokenizer returned with the ids.")
    if sequences.shape[0] % input_ids.shape[0]:
        raise ValueError(f"{sequences.shape[0]} sequences for {input_ids.shape[0]} sources: pass k sequences per "
                         "source, grouped by source as generate(num_return_sequences=k) returns them.")
    return sequences.shape[0] // input_ids.shape[0]


def _source_inputs(input_ids, attention_mask, pixel_values) -> dict:
    """The encoder inputs: token ids (and mask) of a text source, or the images of the captioner."""
    if (input_ids is None) == (pixel_values is None):
        raise ValueError("Pass the sources once: input_ids (and attention_mask) for text, pixel_values for images.")
    if pixel_values is not None:
        return {"pixel_values": pixel_values}
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def _grid_positions(pixel_values: torch.Tensor, grid_length: int) -> torch.Tensor:
    """(batch, L) the row-major grid positions an image's annotation vectors stand for: its "source tokens"."""
    return torch.arange(grid_length, device=pixel_values.device).expand(pixel_values.shape[0], -1)


def _hypotheses(
    weights: torch.Tensor,
    sequences: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    eos_token_ids: tuple[int, ...],
) -> list[HypothesisAttention]:
    """Cut `weights` (hypotheses, layers, heads, steps, src_len), row h belonging to sequences[h] whose last `steps`
    tokens are the output, to each hypothesis' real target and source tokens."""
    per_source = _check_sources(input_ids, attention_mask, sequences)
    targets = sequences[:, sequences.shape[1] - weights.shape[3]:]  # (hypotheses, steps): the decoder prompt dropped
    is_eos = torch.isin(targets, torch.tensor(eos_token_ids, dtype=targets.dtype, device=targets.device)).long()
    lengths = ((is_eos.cumsum(dim=1) - is_eos) == 0).sum(dim=1)  # up to and including the first eos, as scoring does
    real = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
    hypotheses = []
    for row, length in enumerate(lengths.tolist()):
        source = row // per_source
        keep = real[source]  # the source's real positions
        hypotheses.append(HypothesisAttention(
            source_index=source,
            source_ids=input_ids[source][keep],
            target_ids=targets[row, :length],
            weights=weights[row, :, :, :length][..., keep],
            eos_token_ids=eos_token_ids,
        ))
    return hypotheses


def _stack_steps(cross_attentions, model) -> torch.Tensor:
    """generate's `cross_attentions` (steps of layers of (rows, heads, queries, src_len)) as one tensor
    (steps, rows, layers, heads, src_len). With a cache each step has one query; without (use_cache=False) it has
    every position so far, and the last is the step's own."""
    if not cross_attentions or any(step is None or any(layer is None for layer in step) for step in cross_attentions):
        raise ValueError(_NO_ATTENTION.format(model=type(model).__name__))
    return torch.stack([torch.stack([layer[:, :, -1] for layer in step], dim=1) for step in cross_attentions])


@torch.no_grad()
def generate_with_attention(
    model,
    input_ids: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    pixel_values: torch.Tensor | None = None,
    **generate_kwargs,
) -> tuple[object, list[HypothesisAttention]]:
    """`model.generate(...)` and the cross-attention map of every hypothesis it returns.

    generate(output_attentions=True) records, at each step, the attention of every running beam row
    (batch · num_beams rows) before beam search reorders them; the rows that make up a returned hypothesis are its
    `beam_indices` (batch · num_return_sequences, steps): the flattened running row that produced its token at each
    step, -1 after it ended, as `compute_transition_scores` uses them for the scores. Greedy search and sampling
    return no beam_indices: there row h is hypothesis h at every step.

    Args:
        model: a zoo seq2seq model with attention, in eval mode. A Transformer with attn_implementation="sdpa" needs
            no switch: with output_attentions=True its attention runs the eager reference for the call (the fused
            kernel does not return weights), which gives the same outputs.
        input_ids, attention_mask: the sources, (batch, src_len), right-padded as the zoo's tokenizers pad them.
        pixel_values: the captioner's images instead, (batch, channels, height, width); the "source" is then the
            grid of L annotation vectors, `source_ids` the grid positions 0 ... L-1 in row-major order.
        generate_kwargs: any other `generate()` argument (num_beams, num_return_sequences, max_new_tokens, ...),
            except decoder_input_ids: the outputs must start with the decoder start token alone.

    Returns:
        `(output, hypotheses)`: generate's `ModelOutput` (`sequences`, `cross_attentions`, `beam_indices`, ...) and one
        `HypothesisAttention` per row of `output.sequences`, in the same order (grouped by source).
    """
    for name in ("output_attentions", "return_dict_in_generate"):
        if generate_kwargs.pop(name, True) is not True:
            raise ValueError(f"{name} must be True (or left out) to trace attention maps; it is set for you.")
    if "decoder_input_ids" in generate_kwargs:
        raise ValueError("decoder_input_ids is not supported: the traced maps cover the generated tokens of "
                         "sequences that start with the decoder start token. Score a forced prefix with "
                         "teacher_forced_attention instead.")
    sources = _source_inputs(input_ids, attention_mask, pixel_values)
    output = model.generate(**sources, output_attentions=True, return_dict_in_generate=True, **generate_kwargs)
    steps = _stack_steps(output.cross_attentions, model)  # (steps, rows, layers, heads, src_len)
    if pixel_values is not None:
        input_ids = _grid_positions(pixel_values, steps.shape[-1])
    beam_indices = getattr(output, "beam_indices", None)
    if beam_indices is None:
        weights = steps.permute(1, 2, 3, 0, 4)  # (hypotheses, layers, heads, steps, src_len)
    else:
        rows = beam_indices.long().clamp(min=0)  # -1 after a hypothesis ended: any row, trimmed away below
        step = torch.arange(rows.shape[1], device=rows.device)
        weights = steps[step[None, :], rows].permute(0, 2, 3, 1, 4)  # (hypotheses, layers, heads, steps, src_len)
    return output, _hypotheses(weights, output.sequences, input_ids, attention_mask, _eos_token_ids(model))


@torch.no_grad()
def teacher_forced_attention(
    model,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    sequences: torch.Tensor,
    pixel_values: torch.Tensor | None = None,
) -> list[HypothesisAttention]:
    """The cross-attention map of given `sequences` from one teacher-forced forward pass (decoder inputs
    sequences[:, :-1]): what the model attends to while predicting each token of, e.g., a reference translation.
    For the sequences generate() returned it equals `generate_with_attention`'s maps.

    Args:
        model: a zoo seq2seq model with attention, in eval mode.
        input_ids, attention_mask: the sources, (batch, src_len); with k sequences per source each source is
            repeated k times (as `scoring.score_sequences` does). For the captioner pass None, None and the images
            as `pixel_values`.
        sequences: (batch · k, 1 + steps) laid out as generate() returns them: the decoder start token first,
            padding after the end-of-sequence token.

    Returns:
        One `HypothesisAttention` per row of `sequences`.
    """
    sources = _source_inputs(input_ids, attention_mask, pixel_values)
    per_source = _check_sources(next(iter(sources.values())), attention_mask, sequences)
    sources = {name: value.repeat_interleave(per_source, dim=0) for name, value in sources.items() if value is not None}
    outputs = model(**sources, decoder_input_ids=sequences[:, :-1], output_attentions=True, use_cache=False)
    layers = outputs.cross_attentions  # per layer (batch · k, heads, steps, src_len)
    if not layers or any(layer is None for layer in layers):
        raise ValueError(_NO_ATTENTION.format(model=type(model).__name__))
    if pixel_values is not None:
        input_ids = _grid_positions(pixel_values, layers[0].shape[-1])
    return _hypotheses(torch.stack(layers, dim=1), sequences, input_ids, attention_mask, _eos_token_ids(model))


def select_attention(weights: torch.Tensor, layer: int | None = None, head: int | None = None) -> torch.Tensor:
    """One (tgt_len, src_len) map from (layers, heads, tgt_len, src_len) `weights`: the given layer and head, or the
    mean over the heads (head=None) and over the layers (layer=None).

    We average unless told otherwise: OpenNMT keeps one arbitrary head of the last layer, but a Transformer's heads
    specialise (Voita et al. 2019, arXiv:1905.09418) and the mean is a map that every row of still sums to 1. The RNN
    family has a single layer and head, so every choice gives its alignment weights.
    """
    if weights.dim() != 4:
        raise ValueError(f"weights must be (layers, heads, tgt_len, src_len), got shape {tuple(weights.shape)}; pass "
                         "HypothesisAttention.weights.")
    for name, index, count in (("layer", layer, weights.shape[0]), ("head", head, weights.shape[1])):
        if index is not None and not 0 <= index < count:
            raise ValueError(f"{name}={index} is out of range: these weights have {count} {name}s (0 to {count - 1}); "
                             f"pass one of those, or None for the mean over them.")
    if layer is not None:
        weights = weights[layer : layer + 1]
    if head is not None:
        weights = weights[:, head : head + 1]
    return weights.mean(dim=(0, 1))


def pharaoh_alignment(weights: torch.Tensor, source_eos: bool = True, target_eos: bool = True) -> str:
    """Hard alignment of a (tgt_len, src_len) attention map in the Pharaoh format fast_align and fairseq print:
    "i-j" pairs, i the source and j the target token index (0-based), space-separated, in target order (fast_align
    prints a line as it walks the target). Each target token is linked to the source token it attends to most
    (Garg et al. 2019 §2), so there is exactly one link per target token; ties go to the first source token.

    The indices count tokens, i.e. subwords (characters for a char tokenizer), not words; a word-level alignment
    needs the tokens mapped to their words first.

    Args:
        weights: (tgt_len, src_len), e.g. `select_attention(hypothesis.weights)`.
        source_eos: the last column is the source's end-of-sequence token (every sequence the zoo's tokenizers
            encode ends in </s>): it is left out of the argmax, so that attention parked on </s> does not take the
            link, and every index refers to a real token.
        target_eos: the last row is the target's end-of-sequence token: it gets no link. Pass False for a hypothesis
            that hit the length limit before its eos (`HypothesisAttention.alignment` decides both from the ids).
    """
    if weights.dim() != 2:
        raise ValueError(f"weights must be one (tgt_len, src_len) map, got shape {tuple(weights.shape)}; pick one "
                         "with select_attention(hypothesis.weights, layer, head).")
    if target_eos:
        weights = weights[:-1]
    if source_eos:
        weights = weights[:, :-1]
    if weights.shape[0] == 0 or weights.shape[1] == 0:
        return ""
    return " ".join(f"{i}-{j}" for j, i in enumerate(weights.argmax(dim=1).tolist()))


def _word_boundary_marker(tokenizer) -> str | None:
    """The character a Metaspace decoder turns back into a space ("▁" for the zoo's tokenizers), if it has one."""
    decoder = getattr(getattr(tokenizer, "backend_tokenizer", None), "decoder", None)
    if decoder is None:
        return None
    pending = [json.loads(decoder.__getstate__())]
    while pending:
        part = pending.pop()
        if part.get("type") == "Metaspace":
            return part["replacement"]
        pending.extend(part.get("decoders", []))
    return None


def readable_tokens(tokenizer, ids: Sequence[int] | torch.Tensor) -> list[str]:
    """The tokens of `ids` as plot labels: each token as the vocabulary spells it, its word-boundary marker (the
    zoo's tokenizers use SentencePiece's "▁", see `data.subword_tokenizer`) shown as "␣": a space of a char tokenizer
    becomes "␣" and a BPE word-initial piece "␣Luft", while a word-internal piece stays "ft". Special tokens
    (</s>, <unk>) stay as they are; other tokenizers' tokens are shown unchanged."""
    ids = ids.tolist() if isinstance(ids, torch.Tensor) else [int(i) for i in ids]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    marker, special = _word_boundary_marker(tokenizer), set(tokenizer.all_special_tokens)
    if marker is None:
        return tokens
    return [token if token in special else token.replace(marker, VISIBLE_SPACE) for token in tokens]


def plot_attention(
    weights: torch.Tensor,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Write a heatmap of a (tgt_len, src_len) attention map to `path` (.png, or .pdf / .svg), drawn as Bahdanau et
    al.'s Fig. 3: source tokens along the top (x), target tokens down the side (y), weight 0 white to 1 black on a
    fixed scale so that maps compare. Cells are 0.26 inch, so a 40 × 40 map is about 12 × 12 inches with 8 pt
    labels. Needs matplotlib (`pip install -e .[plot]`); it draws with the Agg backend without touching pyplot's
    global state. Returns the path written."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(f"plot_attention needs matplotlib ({error}); install it: pip install -e '.[plot]'.") \
            from error
    if weights.dim() != 2 or tuple(weights.shape) != (len(target_tokens), len(source_tokens)):
        raise ValueError(f"weights of shape {tuple(weights.shape)} do not fit {len(target_tokens)} target and "
                         f"{len(source_tokens)} source tokens: pass one (tgt_len, src_len) map (select_attention) and "
                         "the tokens of its rows and columns (HypothesisAttention.target_ids / source_ids).")
    path = Path(path)
    if path.suffix.lower() not in PLOT_FORMATS:
        raise ValueError(f"Cannot write a plot to {path}: name a file ending in one of {', '.join(PLOT_FORMATS)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tgt_len, src_len = weights.shape
    cell = 0.26  # inches per token
    figure = Figure(figsize=(max(4.0, cell * src_len + 2.5), max(3.0, cell * tgt_len + 2.0)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(weights.detach().float().cpu().numpy(), cmap="Greys", vmin=0.0, vmax=1.0,
                        interpolation="nearest", aspect="equal")
    axes.set_xticks(range(src_len), labels=list(source_tokens), fontsize=8)
    axes.set_yticks(range(tgt_len), labels=list(target_tokens), fontsize=8)
    axes.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False, length=0)
    for tick in axes.xaxis.get_major_ticks():  # characters stay upright, longer tokens turn to fit their column
        tick.label2.set_rotation(90 if len(tick.label2.get_text()) > 2 else 0)
    axes.set_xlabel("source")
    axes.xaxis.set_label_position("top")
    axes.set_ylabel("target")
    figure.colorbar(image, ax=axes, fraction=0.04, pad=0.03, shrink=0.8).set_label("attention weight")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.savefig(path, dpi=150, bbox_inches="tight")
    return path


def translate_with_alignments(
    model,
    source_tokenizer,
    target_tokenizer,
    sources: list[str],
    batch_size: int = 32,
    **generate_kwargs,
) -> list[tuple[str, str]]:
    """`(translation, Pharaoh alignment)` of each of `sources`, in the order given: the best hypothesis of each,
    decoded with `target_tokenizer`, and its alignment from the cross-attention averaged over layers and heads.
    Batched by length like `generation.translate.translate`; a blank source gives ("", "") without reaching the
    model. `generate_kwargs` left out (or None) take the model's generation_config values."""
    generate_kwargs = {name: value for name, value in generate_kwargs.items() if value is not None}
    results = [("", "")] * len(sources)
    nonblank = [index for index, text in enumerate(sources) if text.strip()]
    encoded = source_tokenizer([sources[index] for index in nonblank])["input_ids"] if nonblank else []
    lengths = {index: len(ids) for index, ids in zip(nonblank, encoded)}
    order = sorted(nonblank, key=lengths.__getitem__)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        batch = source_tokenizer([sources[index] for index in indices], return_tensors="pt", padding=True)
        _, hypotheses = generate_with_attention(model, batch["input_ids"].to(model.device),
                                                batch["attention_mask"].to(model.device), **generate_kwargs)
        per_source = len(hypotheses) // len(indices)
        for index, best in zip(indices, hypotheses[::per_source]):
            results[index] = (target_tokenizer.decode(best.target_ids, skip_special_tokens=True), best.alignment())
    return results


__all__ = [
    "HypothesisAttention",
    "generate_with_attention",
    "pharaoh_alignment",
    "plot_attention",
    "readable_tokens",
    "select_attention",
    "teacher_forced_attention",
    "translate_with_alignments",
]
