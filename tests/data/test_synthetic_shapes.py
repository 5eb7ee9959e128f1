"""Tests of hf_attention_zoo.data.synthetic_shapes: determinism, captions that describe the rendered pixels, held-out
pairs only in test, held-out relations only in test_relations, tolerant caption parsing, and the word-level caption tokenizer."""

import numpy as np
import pytest
from datasets import DatasetDict

from hf_attention_zoo.data.subword_tokenizer import EOS_TOKEN_ID, PAD_TOKEN_ID, SPECIAL_TOKENS
from hf_attention_zoo.data.synthetic_shapes import (
    BACKGROUND,
    COLOURS,
    ALLOWED_PAIRS,
    HELD_OUT_COMBINATIONS,
    HELD_OUT_RELATIONS,
    RELATIONS,
    SHAPES,
    ObjectMention,
    make_shapes_dataset,
    parse_caption,
    relation_triples,
    train_caption_tokenizer,
)

SPLITS = ("train", "validation", "test", "test_relations")
SIZES = dict(num_train=60, num_validation=50, num_test=50, num_test_relations=40)


@pytest.fixture(scope="module")
def shapes():
    return make_shapes_dataset(seed=0, **SIZES)


def all_examples(dataset):
    for split in SPLITS:
        yield from dataset[split]


def expected_caption(objects):
    """The grammar written out again, independently of the module: left to right by box centre, "left of" when
    |dx| >= |dy|, else "above"/"below" by the first object's centre y."""
    def centre(obj):
        x0, y0, x1, y1 = obj["box"]
        return (x0 + x1) / 2, (y0 + y1) / 2

    ordered = sorted(objects, key=lambda obj: centre(obj)[0])
    parts = []
    for index, obj in enumerate(ordered):
        if index:
            (ax, ay), (bx, by) = centre(ordered[index - 1]), centre(obj)
            if abs(bx - ax) >= abs(by - ay):
                parts.append("left of")
            else:
                parts.append("above" if ay < by else "below")
        parts.append(f"a {obj['size']} {obj['colour']} {obj['shape']}")
    return " ".join(parts)


def test_same_seed_gives_identical_images_and_captions_and_another_seed_differs(shapes):
    again = make_shapes_dataset(seed=0, **SIZES)
    other = make_shapes_dataset(seed=1, **SIZES)
    for split in SPLITS:
        assert shapes[split]["caption"] == again[split]["caption"]
        assert shapes[split]["objects"] == again[split]["objects"]
        for first, second in zip(shapes[split]["image"], again[split]["image"]):
            np.testing.assert_array_equal(np.asarray(first), np.asarray(second))
        assert shapes[split]["caption"] != other[split]["caption"]


def test_splits_draw_from_independent_streams_so_one_size_leaves_the_others_unchanged(shapes):
    bigger_train = make_shapes_dataset(seed=0, **{**SIZES, "num_train": 70})
    assert bigger_train["train"]["caption"][:60] == shapes["train"]["caption"]
    for split in SPLITS[1:]:
        assert bigger_train[split]["caption"] == shapes[split]["caption"]


def test_splits_sizes_and_feature_schema(shapes):
    assert {split: len(shapes[split]) for split in SPLITS} == {"train": 60, "validation": 50, "test": 50, "test_relations": 40}
    example = shapes["train"][0]
    assert example["image"].size == (64, 64) and example["image"].mode == "RGB"
    assert set(example["objects"][0]) == {"shape", "colour", "size", "box"}


def test_caption_is_the_grammar_applied_to_the_stored_objects_in_caption_order(shapes):
    for example in all_examples(shapes):
        assert 2 <= len(example["objects"]) <= 3
        assert example["caption"] == expected_caption(example["objects"])
        centres_x = [(obj["box"][0] + obj["box"][2]) / 2 for obj in example["objects"]]
        assert centres_x == sorted(centres_x)
        # Layouts too close to call are redrawn: order and relations hold by at least 4 px.
        for a, b in zip(example["objects"], example["objects"][1:]):
            dx = (b["box"][0] + b["box"][2] - a["box"][0] - a["box"][2]) / 2
            dy = (b["box"][1] + b["box"][3] - a["box"][1] - a["box"][3]) / 2
            assert abs(dx) >= 4 and abs(abs(dx) - abs(dy)) >= 4


def test_pixels_inside_each_box_have_the_object_colour_and_the_rest_is_background(shapes):
    for example in all_examples(shapes):
        pixels = np.asarray(example["image"])
        covered = np.zeros(pixels.shape[:2], dtype=bool)
        for obj in example["objects"]:
            x0, y0, x1, y1 = obj["box"]
            covered[y0:y1, x0:x1] = True
            # The box centre column at three quarters of the height lies inside a circle, a square and an
            # upward triangle alike (a triangle is narrow near its apex).
            x, y = (x0 + x1) // 2, y0 + 3 * (y1 - y0) // 4
            assert tuple(pixels[y, x]) == COLOURS[obj["colour"]], (example["caption"], obj)
        assert (pixels[~covered] == BACKGROUND).all()


def test_box_sides_match_sizes_boxes_lie_inside_the_image_and_keep_a_gap(shapes):
    for example in all_examples(shapes):
        boxes = [obj["box"] for obj in example["objects"]]
        for obj in example["objects"]:
            x0, y0, x1, y1 = obj["box"]
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
            assert x1 - x0 == y1 - y0 == {"small": 12, "large": 20}[obj["size"]]
        for i, (ax0, ay0, ax1, ay1) in enumerate(boxes):
            for bx0, by0, bx1, by1 in boxes[i + 1 :]:
                assert ax1 + 3 <= bx0 or bx1 + 3 <= ax0 or ay1 + 3 <= by0 or by1 + 3 <= ay0


def test_geometry_scales_with_image_size():
    dataset = make_shapes_dataset(seed=3, num_train=10, num_validation=0, num_test=0, image_size=128)
    for example in dataset["train"]:
        assert example["image"].size == (128, 128)
        assert example["caption"] == expected_caption(example["objects"])
        for obj in example["objects"]:
            assert obj["box"][2] - obj["box"][0] == {"small": 24, "large": 40}[obj["size"]]


def test_held_out_pairs_never_appear_in_train_or_validation_and_in_every_test_image(shapes):
    for split in ("train", "validation"):
        for objects in shapes[split]["objects"]:
            assert not any((obj["colour"], obj["shape"]) in HELD_OUT_COMBINATIONS for obj in objects)
    for objects in shapes["test"]["objects"]:
        assert any((obj["colour"], obj["shape"]) in HELD_OUT_COMBINATIONS for obj in objects)


def test_held_out_relations_only_between_neighbours_of_test_relations_images_made_of_allowed_pairs(shapes):
    held_out = set(HELD_OUT_RELATIONS)
    for split in ("train", "validation", "test"):
        for objects in shapes[split]["objects"]:
            assert not held_out & set(relation_triples(objects)), (split, objects)
    for example in shapes["test_relations"]:
        assert all((obj["colour"], obj["shape"]) in ALLOWED_PAIRS for obj in example["objects"])
        triples = relation_triples(example["objects"])
        assert held_out & set(triples)
        # the triples are what the caption says: "... {colour} {shape} {relation} a {size} {colour} {shape} ..."
        for (head, name, tail), mention, following in zip(triples, parse_caption(example["caption"]),
                                                           parse_caption(example["caption"])[1:]):
            assert (mention.colour, mention.shape, mention.relation_to_next) == (*head, name)
            assert (following.colour, following.shape) == tail


def test_each_head_and_relation_keeps_eight_of_nine_partners_in_training():
    assert len(ALLOWED_PAIRS) == 9 and not set(ALLOWED_PAIRS) & set(HELD_OUT_COMBINATIONS)
    assert len(set(HELD_OUT_RELATIONS)) == len(HELD_OUT_RELATIONS) == 27
    for head in ALLOWED_PAIRS:
        for name in RELATIONS:
            assert sum(triple[:2] == (head, name) for triple in HELD_OUT_RELATIONS) == 1
    for tail in ALLOWED_PAIRS:  # every pair is held out as a partner equally often
        assert sum(triple[2] == tail for triple in HELD_OUT_RELATIONS) == 3


def test_every_held_out_colour_and_shape_still_occurs_in_training(shapes):
    seen = {(obj["colour"], obj["shape"]) for objects in shapes["train"]["objects"] for obj in objects}
    for colour, shape in HELD_OUT_COMBINATIONS:
        assert any(seen_colour == colour for seen_colour, _ in seen)
        assert any(seen_shape == shape for _, seen_shape in seen)
    assert {shape for _, shape in seen} == set(SHAPES) and {colour for colour, _ in seen} == set(COLOURS)


def test_parse_caption_round_trips_dataset_captions(shapes):
    for example in all_examples(shapes):
        mentions = parse_caption(example["caption"])
        words = example["caption"].split()
        assert [(m.size, m.colour, m.shape) for m in mentions] == [
            (obj["size"], obj["colour"], obj["shape"]) for obj in example["objects"]
        ]
        assert all(words[m.shape_word_index] == m.shape for m in mentions)
        rebuilt = " ".join(
            f"a {m.size} {m.colour} {m.shape}" + (f" {m.relation_to_next}" if m.relation_to_next else "")
            for m in mentions
        )
        assert rebuilt == example["caption"]


def test_parse_caption_skips_garbage_and_keeps_recognisable_mentions():
    caption = "the a small red circle circle left of a huge blue square a large green triangle above"
    assert parse_caption(caption) == [
        ObjectMention("small", "red", "circle", 4, relation_to_next=None),
        ObjectMention("large", "green", "triangle", 15, relation_to_next=None),
    ]
    assert parse_caption("") == [] and parse_caption("a small red") == []
    assert parse_caption("a small red circle below a large blue square")[0].relation_to_next == "below"


def test_tokenizer_round_trips_every_caption_and_ends_with_eos(shapes):
    tokenizer = train_caption_tokenizer(shapes)
    assert tokenizer.pad_token_id == PAD_TOKEN_ID and tokenizer.eos_token_id == EOS_TOKEN_ID
    assert [tokenizer.convert_ids_to_tokens(i) for i in range(4)] == list(SPECIAL_TOKENS.values())
    assert tokenizer.padding_side == "right"
    for example in all_examples(shapes):
        ids = tokenizer(example["caption"])["input_ids"]
        assert ids[-1] == EOS_TOKEN_ID and len(ids) == len(example["caption"].split()) + 1
        assert tokenizer.unk_token_id not in ids
        assert tokenizer.decode(ids, skip_special_tokens=True) == example["caption"]
    batch = tokenizer(["a small red circle", "a large blue square left of a small green square"], padding=True)
    assert batch["input_ids"][0][4:] == [EOS_TOKEN_ID] + [PAD_TOKEN_ID] * 6


def test_tokenizer_vocabulary_comes_from_the_chosen_split_only(shapes):
    tokenizer = train_caption_tokenizer(shapes, split="validation")
    validation_words = {word for caption in shapes["validation"]["caption"] for word in caption.split()}
    assert set(tokenizer.get_vocab()) == validation_words | set(SPECIAL_TOKENS.values())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_train": -1}, "num_train must be an int >= 0"),
        ({"num_test": 2.5}, "num_test must be an int >= 0"),
        ({"num_test_relations": -2}, "num_test_relations must be an int >= 0"),
        ({"image_size": 16}, "image_size=16 is too small"),
        ({"seed": "zero"}, "seed must be an int"),
    ],
)
def test_bad_arguments_raise_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_shapes_dataset(**{"num_train": 1, "num_validation": 1, "num_test": 1, "num_test_relations": 1, **kwargs})


def test_tokenizer_rejects_a_missing_split_or_caption_column(shapes):
    with pytest.raises(ValueError, match="no split 'dev'"):
        train_caption_tokenizer(shapes, split="dev")
    with pytest.raises(ValueError, match="not a `caption` column"):
        train_caption_tokenizer(DatasetDict({"train": shapes["train"].remove_columns("caption")}))
