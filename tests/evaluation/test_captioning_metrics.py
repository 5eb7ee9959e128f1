"""Tests of hf_attention_zoo.evaluation.captioning_metrics: box attention mass on constructed maps, pointing accuracy
with known numbers, BLEU-4 / exact match, and the errors."""

import math

import numpy as np
import pytest
import torch

from hf_attention_zoo.evaluation.captioning_metrics import (
    box_attention_mass,
    box_share,
    caption_scores,
    pointing_accuracy,
)


def test_all_mass_in_one_cell_inside_the_box_counts_fully():
    weights = torch.zeros(4, 4)
    weights[1, 2] = 1.0  # rows 16-31, columns 32-47 of a 64 px image
    assert box_attention_mass(weights, [30, 10, 50, 40], 64) == pytest.approx(1.0)
    assert box_attention_mass(weights, [0, 0, 30, 64], 64) == pytest.approx(0.0)


def test_uniform_map_gives_the_box_share():
    weights = np.full((8, 8), 1 / 64)
    box = [3, 5, 23, 17]
    assert box_share(box, 64) == pytest.approx(20 * 12 / 64**2)
    assert box_attention_mass(weights, box, 64) == pytest.approx(box_share(box, 64))
    # A grid that does not divide the image (7 x 7 cells of 64/7 px) still tiles it evenly.
    assert box_attention_mass(np.full((7, 7), 1 / 49), box, 64) == pytest.approx(box_share(box, 64))


def test_a_box_covering_half_a_cell_gets_half_its_mass():
    weights = np.zeros((4, 4))
    weights[0, 0] = 0.6
    weights[3, 3] = 0.4
    assert box_attention_mass(weights, [0, 0, 8, 16], 64) == pytest.approx(0.3)  # left half of cell (0, 0)
    assert box_attention_mass(weights, [56, 48, 64, 64], 64) == pytest.approx(0.2)  # right half of cell (3, 3)
    assert box_attention_mass(weights, [0, 0, 8, 8], 64) == pytest.approx(0.15)  # a quarter


def test_non_square_image_reads_image_size_as_height_width():
    weights = np.zeros((2, 4))  # cells of 16 x 16 px on a 32 (high) x 64 (wide) image
    weights[1, 3] = 1.0
    assert box_attention_mass(weights, [48, 16, 64, 32], (32, 64)) == pytest.approx(1.0)
    assert box_share([48, 16, 64, 32], (32, 64)) == pytest.approx(16 * 16 / (32 * 64))


def constructed_example():
    """Two images on a 64 px canvas with a 4 x 4 grid (16 px cells)."""
    captions = [
        # Two mentions, both scored: the circle's box is exactly cell (0, 0), the square's exactly cell (2, 2).
        "a small red circle left of a small blue square",
        # The triangle fits two identical objects (skipped), the green circle none (skipped): nothing scored.
        "a large yellow triangle above a small green circle",
    ]
    objects = [
        [
            {"shape": "circle", "colour": "red", "size": "small", "box": [0, 0, 16, 16]},
            {"shape": "square", "colour": "blue", "size": "small", "box": [32, 32, 48, 48]},
        ],
        [
            {"shape": "triangle", "colour": "yellow", "size": "large", "box": [0, 0, 20, 20]},
            {"shape": "triangle", "colour": "yellow", "size": "large", "box": [40, 40, 60, 60]},
        ],
    ]
    first = torch.zeros(11, 4, 4)  # 10 words + </s>
    first[3, 0, 0] = 0.5  # "circle": half its mass on its own cell
    first[3, 3, 3] = 0.5
    first[9, 2, 2] = 1.0  # "square": all its mass on its cell
    first[10] = 1 / 16  # </s>, ignored
    second = np.full((9, 4, 4), 1 / 16)
    return captions, [first, second], objects


def test_pointing_accuracy_on_a_constructed_example():
    captions, attention, objects = constructed_example()
    result = pointing_accuracy(captions, attention, objects, 64)
    assert result["words_scored"] == 2 and result["words_skipped"] == 2
    assert result["pointing_mass"] == pytest.approx((0.5 + 1.0) / 2)
    assert result["chance"] == pytest.approx(1 / 16)
    assert result["ratio"] == pytest.approx(0.75 * 16)


def test_pointing_accuracy_without_any_mention_gives_nan_means():
    result = pointing_accuracy(["the the the"], [np.full((4, 2, 2), 0.25)], [[]], 64)
    assert result["words_scored"] == 0 and result["words_skipped"] == 0
    assert math.isnan(result["pointing_mass"]) and math.isnan(result["chance"]) and math.isnan(result["ratio"])


def test_caption_scores_exact_match_and_bleu():
    references = ["a small red circle left of a large blue square", "a large green triangle above a small red square"]
    perfect = caption_scores(references, references)
    assert perfect["bleu4"] == pytest.approx(100.0) and perfect["exact_match"] == 1.0
    assert "nrefs:1" in perfect["bleu_signature"]
    half = caption_scores([references[0] + " ", "a large green triangle below a small red square"], references)
    assert half["exact_match"] == 0.5 and 0 < half["bleu4"] < 100


def test_errors_name_the_mismatch():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        caption_scores(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no hypotheses"):
        caption_scores([], [])
    captions, attention, objects = constructed_example()
    with pytest.raises(ValueError, match="2 captions, 1 attention arrays and 2 object lists"):
        pointing_accuracy(captions, attention[:1], objects, 64)
    with pytest.raises(ValueError, match=r"attention\[0\] has shape \(5, 4, 4\), but caption 0 has 10 words"):
        pointing_accuracy(captions, [attention[0][:5], attention[1]], objects, 64)
    with pytest.raises(ValueError, match="one \\(grid_h, grid_w\\) attention map"):
        box_attention_mass(np.zeros((2, 4, 4)), [0, 0, 8, 8], 64)
    with pytest.raises(ValueError, match="not a non-empty"):
        box_attention_mass(np.zeros((4, 4)), [0, 0, 80, 8], 64)
    with pytest.raises(ValueError, match="not a non-empty"):
        box_share([8, 0, 8, 8], 64)


def test_held_out_objects_named_counts_only_held_out_pairs_named_in_full():
    from hf_attention_zoo.evaluation.captioning_metrics import held_out_objects_named

    objects = [[{"size": "small", "colour": "red", "shape": "triangle"}, {"size": "large", "colour": "red", "shape": "circle"}],
               [{"size": "large", "colour": "blue", "shape": "square"}]]
    captions = ["a small red triangle left of a large red circle", "a large blue circle"]
    result = held_out_objects_named(captions, objects, [("red", "triangle"), ("blue", "square")])
    assert result == {"held_out_objects": 2, "held_out_named": 0.5}
    with pytest.raises(ValueError, match="2 captions but objects for 1 images"):
        held_out_objects_named(captions, objects[:1], [("red", "triangle")])


def test_held_out_relations_named_needs_both_objects_in_full_and_the_right_relation():
    from hf_attention_zoo.evaluation.captioning_metrics import held_out_relations_named

    def obj(size, colour, shape, x, y):
        return {"size": size, "colour": colour, "shape": shape, "box": [x, y, x + 12, y + 12]}

    # image 1: A left of B (dx 30 > dy 0); image 2: A above B (dx 10 < dy 30); image 3: a triple not held out
    objects = [[obj("small", "red", "circle", 0, 0), obj("large", "blue", "circle", 30, 0)],
               [obj("small", "red", "circle", 0, 0), obj("small", "yellow", "square", 10, 30)],
               [obj("small", "red", "square", 0, 0), obj("small", "red", "circle", 30, 0)]]
    held_out = [(("red", "circle"), "left of", ("blue", "circle")), (("red", "circle"), "above", ("yellow", "square"))]
    captions = ["a small red circle left of a large blue circle",  # stated
                "a small red circle below a small yellow square",  # wrong relation
                "anything"]
    assert held_out_relations_named(captions, objects, held_out) == {"held_out_relations": 2,
                                                                     "held_out_relations_named": 0.5}
    # the sizes count too
    captions[0] = "a small red circle left of a small blue circle"
    assert held_out_relations_named(captions, objects, held_out)["held_out_relations_named"] == 0.0
    with pytest.raises(ValueError, match="3 captions but objects for 1 images"):
        held_out_relations_named(captions, objects[:1], held_out)
