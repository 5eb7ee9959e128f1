"""Captioning quality and attention grounding: corpus BLEU-4 (Papineni et al. 2002, via sacreBLEU, Post,
arXiv:1804.08771) and exact match, and how much of the attention that emits an object's word falls inside that
object's box (the check of Show, Attend and Tell, Xu et al., arXiv:1502.03044, §5.4, made quantitative with the
boxes of `data.synthetic_shapes`).
"""

import math
from collections.abc import Sequence

import numpy as np
import torch
from sacrebleu.metrics import BLEU

from ..data.synthetic_shapes import parse_caption, relation_triples


def caption_scores(hypotheses: list[str], references: list[str]) -> dict:
    """Corpus BLEU-4 and exact match of generated captions against one reference each.

    Args:
        hypotheses: one generated caption per image.
        references: the reference caption of each image, in the same order.

    Returns:
        `{"bleu4": float, "bleu_signature": str, "exact_match": float}`: BLEU-4 from `sacrebleu.metrics.BLEU()`
        with its defaults (cased, `13a` tokenization, exponential smoothing) on the 0-100 scale, its signature, and
        the share (0-1) of hypotheses equal to their reference after stripping surrounding whitespace.

    Raises:
        ValueError: when the lists are empty or differ in length.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"Got {len(hypotheses)} hypotheses but {len(references)} references; pass one hypothesis per reference, "
            "in the same order."
        )
    if not hypotheses:
        raise ValueError("Got no hypotheses and no references: a corpus score needs at least one caption.")
    bleu = BLEU()  # max_ngram_order defaults to 4
    # sacreBLEU takes a list of reference streams (one per reference set); here there is one.
    score = bleu.corpus_score(hypotheses, [references]).score
    matches = sum(hypothesis.strip() == reference.strip() for hypothesis, reference in zip(hypotheses, references))
    # The signature can only be read after scoring: it records the number of references seen.
    return {"bleu4": score, "bleu_signature": str(bleu.get_signature()), "exact_match": matches / len(hypotheses)}


def _as_array(values: torch.Tensor | np.ndarray | Sequence) -> np.ndarray:
    """A float64 numpy copy of a tensor (on any device, with or without grad) or array-like."""
    if isinstance(values, torch.Tensor):
        values = values.detach().to("cpu", torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def _height_width(image_size: int | Sequence[int]) -> tuple[int, int]:
    """`image_size` as (height, width): an int is a square image."""
    if isinstance(image_size, int):
        height = width = image_size
    elif len(image_size) == 2:
        height, width = image_size
    else:
        raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}.")
    if height <= 0 or width <= 0:
        raise ValueError(f"image_size must be positive, got (height, width) = ({height}, {width}).")
    return height, width


def _checked_box(box: Sequence[int], height: int, width: int) -> tuple[float, float, float, float]:
    if len(box) != 4:
        raise ValueError(f"A box is [x0, y0, x1, y1], got {box!r}.")
    x0, y0, x1, y1 = (float(value) for value in box)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(
            f"Box {list(box)} is not a non-empty [x0, y0, x1, y1] (x1/y1 exclusive) inside the {height} x {width} "
            "(height x width) image; pass pixel coordinates with 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height."
        )
    return x0, y0, x1, y1


def _cover_fractions(start: float, end: float, cells: int, extent: int) -> np.ndarray:
    """Fraction of each of `cells` equal intervals tiling [0, extent) that lies inside [start, end): (cells,)."""
    edges = np.arange(cells + 1) * (extent / cells)
    overlap = np.clip(np.minimum(end, edges[1:]) - np.maximum(start, edges[:-1]), 0.0, None)
    return overlap / (extent / cells)


def box_attention_mass(weights, box: Sequence[int], image_size: int | Sequence[int]) -> float:
    """Attention mass inside a box, for an attention map over a feature grid that evenly tiles the image.

    Each grid cell covers `height / grid_h` x `width / grid_w` pixels (not necessarily whole pixels) and its
    weight is spread uniformly over them, so a cell counts with the fraction of its area inside the box. The map
    is not renormalised: for a softmax over the grid (summing to 1) the result is a share in [0, 1].

    Args:
        weights: (grid_h, grid_w) attention weights, a torch tensor or anything numpy reads.
        box: [x0, y0, x1, y1] in pixels, x1/y1 exclusive.
        image_size: the image's (height, width) in pixels, or one int for a square image.

    Returns:
        The mass inside the box.
    """
    weights = _as_array(weights)
    if weights.ndim != 2:
        raise ValueError(
            f"weights must be one (grid_h, grid_w) attention map, got shape {tuple(weights.shape)}; pass one "
            "decoding step's map."
        )
    height, width = _height_width(image_size)
    x0, y0, x1, y1 = _checked_box(box, height, width)
    grid_h, grid_w = weights.shape
    rows = _cover_fractions(y0, y1, grid_h, height)  # (grid_h,)
    columns = _cover_fractions(x0, x1, grid_w, width)  # (grid_w,)
    return float(rows @ weights @ columns)


def box_share(box: Sequence[int], image_size: int | Sequence[int]) -> float:
    """Box area / image area: the mass a uniform attention map puts in the box (chance level)."""
    height, width = _height_width(image_size)
    x0, y0, x1, y1 = _checked_box(box, height, width)
    return (x1 - x0) * (y1 - y0) / (height * width)


def pointing_accuracy(
    captions: list[str], attention: list, objects: list[list[dict]], image_size: int | Sequence[int]
) -> dict:
    """How much attention each named object's word puts on that object, against chance.

    For every mention "a {size} {colour} {shape}" of a caption (`synthetic_shapes.parse_caption`) whose words fit
    exactly one object of the image, the attention map of the step that emitted the shape word is scored with
    `box_attention_mass` over that object's box, and the chance level with `box_share`. Mentions that fit no object
    (a wrong caption) or several (identical objects) are skipped and counted.

    Args:
        captions: one generated caption per image.
        attention: per image, a (num_steps, grid_h, grid_w) array or tensor: step t is the attention that emitted
            word t of `captions[i].split()`; steps past the last word (e.g. for </s>) are ignored.
        objects: per image, its objects as in the dataset's `objects` column ("size", "colour", "shape", "box").
        image_size: the images' (height, width) in pixels, or one int for square images.

    Returns:
        `{"pointing_mass": mean mass over scored words, "chance": mean box share over the same words, "ratio":
        pointing_mass / chance, "words_scored": int, "words_skipped": int}`; the three means are NaN when no word
        was scored.

    Raises:
        ValueError: when the three lists differ in length, or an image has fewer attention steps than words.
    """
    if not len(captions) == len(attention) == len(objects):
        raise ValueError(
            f"Got {len(captions)} captions, {len(attention)} attention arrays and {len(objects)} object lists; pass "
            "one of each per image, in the same order."
        )
    masses, shares, skipped = [], [], 0
    for index, (caption, maps, image_objects) in enumerate(zip(captions, attention, objects)):
        maps = _as_array(maps)
        num_words = len(caption.split())
        if maps.ndim != 3 or maps.shape[0] < num_words:
            raise ValueError(
                f"attention[{index}] has shape {tuple(maps.shape)}, but caption {index} has {num_words} words: pass "
                "(num_steps, grid_h, grid_w) with a step for every word (num_steps >= number of words)."
            )
        for mention in parse_caption(caption):
            matches = [
                obj for obj in image_objects
                if (obj["size"], obj["colour"], obj["shape"]) == (mention.size, mention.colour, mention.shape)
            ]
            if len(matches) != 1:
                skipped += 1
                continue
            masses.append(box_attention_mass(maps[mention.shape_word_index], matches[0]["box"], image_size))
            shares.append(box_share(matches[0]["box"], image_size))
    pointing_mass = float(np.mean(masses)) if masses else math.nan
    chance = float(np.mean(shares)) if shares else math.nan
    return {
        "pointing_mass": pointing_mass,
        "chance": chance,
        "ratio": pointing_mass / chance if shares else math.nan,
        "words_scored": len(masses),
        "words_skipped": skipped,
    }


def held_out_objects_named(captions: list[str], objects: list[list[dict]],
                           held_out: Sequence[tuple[str, str]]) -> dict:
    """How often a caption names an object whose (colour, shape) pair was held out of training, with its size, colour
    and shape all right: the compositional part of the test split, on its own.

    Args:
        captions: one generated caption per image.
        objects: each image's objects (dicts with "size", "colour", "shape").
        held_out: the held-out (colour, shape) pairs, e.g. `synthetic_shapes.HELD_OUT_COMBINATIONS`.

    Returns:
        {"held_out_objects": how many objects have a held-out pair, "held_out_named": the share of them named}.
    """
    if len(captions) != len(objects):
        raise ValueError(f"Got {len(captions)} captions but objects for {len(objects)} images; pass one each.")
    total = named = 0
    for caption, image_objects in zip(captions, objects):
        mentioned = [(mention.size, mention.colour, mention.shape) for mention in parse_caption(caption)]
        for obj in image_objects:
            if (obj["colour"], obj["shape"]) in held_out:
                total += 1
                named += (obj["size"], obj["colour"], obj["shape"]) in mentioned
    return {"held_out_objects": total, "held_out_named": named / total if total else math.nan}


def held_out_relations_named(captions: list[str], objects: list[list[dict]],
                             held_out: Sequence[tuple[tuple[str, str], str, tuple[str, str]]]) -> dict:
    """How often a caption states a held-out relation between neighbouring objects exactly: both objects named in
    full (size, colour, shape) as consecutive mentions, joined by the right relation. The relation test split's
    compositional part, on its own.

    Args:
        captions: one generated caption per image.
        objects: each image's objects (dicts with "size", "colour", "shape" and "box").
        held_out: ((colour, shape), relation, (colour, shape)) triples, e.g. `synthetic_shapes.HELD_OUT_RELATIONS`.

    Returns:
        {"held_out_relations": how many neighbouring pairs form a held-out triple, "held_out_relations_named": the
        share of them stated}.
    """
    if len(captions) != len(objects):
        raise ValueError(f"Got {len(captions)} captions but objects for {len(objects)} images; pass one each.")
    held_out = set(held_out)
    total = named = 0
    for caption, image_objects in zip(captions, objects):
        mentions = parse_caption(caption)
        stated = {
            ((a.size, a.colour, a.shape), a.relation_to_next, (b.size, b.colour, b.shape))
            for a, b in zip(mentions, mentions[1:])
            if a.relation_to_next is not None
        }
        ordered = sorted(image_objects, key=lambda obj: (obj["box"][0] + obj["box"][2]) / 2)
        for (head, name, tail), a, b in zip(relation_triples(ordered), ordered, ordered[1:]):
            if (head, name, tail) in held_out:
                total += 1
                named += ((a["size"], *head), name, (b["size"], *tail)) in stated
    return {"held_out_relations": total, "held_out_relations_named": named / total if total else math.nan}

