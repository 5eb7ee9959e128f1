"""The built-in synthetic captioning task: coloured shapes on a plain canvas, rendered here, with a caption fully
determined by the image, and two compositional test splits: held-out colour-shape pairs and held-out
object-relation-object triples. In the spirit of ShapeWorld
(Kuhnle & Copestake, arXiv:1704.04517), SQOOP (Bahdanau et al., arXiv:1811.12889) and CLEVR-CoGenT (Johnson et
al., arXiv:1612.06890); a quick check for Show, Attend and Tell (Xu et al., arXiv:1502.03044). See
`make_shapes_dataset` for the grammar and the splits.
"""

import random
from dataclasses import dataclass

from datasets import Dataset, DatasetDict, Features, Image, Value
from PIL import Image as PILImage
from PIL import ImageDraw
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from .subword_tokenizer import BOS_TOKEN_ID, EOS_TOKEN_ID, PAD_TOKEN_ID, SPECIAL_TOKENS, UNK_TOKEN_ID

SHAPES = ("circle", "square", "triangle")
# Saturated colours far apart in RGB and from the background, so a pixel's colour names its object unambiguously.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 230),
    "yellow": (240, 210, 20),
}
SIZES = ("small", "large")
BACKGROUND = (210, 210, 210)  # light grey
RELATIONS = ("left of", "above", "below")
# Never in train or validation, at least one in every test image. Each colour and shape here still occurs in
# training with other partners (red squares, green triangles, blue circles, ...), as in CLEVR-CoGenT.
HELD_OUT_COMBINATIONS: tuple[tuple[str, str], ...] = (("red", "triangle"), ("green", "circle"), ("blue", "square"))
# The nine colour-shape pairs that occur in training, in a fixed order.
ALLOWED_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (colour, shape) for colour in COLOURS for shape in SHAPES if (colour, shape) not in HELD_OUT_COMBINATIONS
)


def _held_out_relations() -> tuple[tuple[tuple[str, str], str, tuple[str, str]], ...]:
    """For each allowed pair A (index i) and relation (index k), the one partner B of index (-(2i + k)) mod 9: a
    Latin-square rule, so each (A, relation) keeps 8 of its 9 partners in training and each B is held out after 3
    (A, relation) heads, as SQOOP's splits with many right-hand objects per left-hand one."""
    count = len(ALLOWED_PAIRS)
    return tuple(
        (head, name, ALLOWED_PAIRS[-(2 * i + k) % count])
        for i, head in enumerate(ALLOWED_PAIRS)
        for k, name in enumerate(RELATIONS)
    )


# SQOOP-style (Bahdanau et al. 2019) held-out relations: never between neighbouring objects in train, validation or the
# colour-shape test split; at least one in every image of the relation test split, whose objects are all allowed pairs.
# Each triple is ((colour, shape) of the left-hand object, relation, (colour, shape) of the next object).
HELD_OUT_RELATIONS: tuple[tuple[tuple[str, str], str, tuple[str, str]], ...] = _held_out_relations()

DEFAULT_IMAGE_SIZE = 64
# Geometry on the default 64 x 64 canvas; every length scales with image_size / 64 (rounded, at least 1 px).
_BOX_SIDE_AT_64 = {"small": 12, "large": 20}
_GAP_AT_64 = 3  # free pixels between two boxes
_AMBIGUITY_MARGIN_AT_64 = 4  # closest allowed |dx| (sort order) and ||dx| - |dy|| (relation) between neighbours
# Below this a small object is under 6 px and a triangle no longer looks like one.
MIN_IMAGE_SIZE = 32
_MAX_LAYOUT_ATTEMPTS = 10_000


@dataclass(frozen=True)
class ObjectMention:
    """One phrase "a {size} {colour} {shape}" found in a caption.

    Attributes:
        size, colour, shape: the words of the phrase.
        shape_word_index: index of the shape word in `caption.split()` (the decoding step that names the object).
        relation_to_next: "left of" / "above" / "below" when exactly that phrase joins this mention to the next
            recognised one, else None (the last mention, or garbage in between).
    """

    size: str
    colour: str
    shape: str
    shape_word_index: int
    relation_to_next: str | None = None


def _scaled(length_at_64: int, image_size: int) -> int:
    return max(1, round(length_at_64 * image_size / DEFAULT_IMAGE_SIZE))


def _centre(box: list[int]) -> tuple[float, float]:
    x0, y0, x1, y1 = box
    return (x0 + x1) / 2, (y0 + y1) / 2


def relation(box_a: list[int], box_b: list[int]) -> str:
    """The relation word(s) from object A to the next object B of a caption: "left of" when |dx| >= |dy| between
    the box centres (B is right of A, since objects are sorted left to right), else "above" when A's centre is
    higher in the image (smaller y) than B's, else "below"."""
    (ax, ay), (bx, by) = _centre(box_a), _centre(box_b)
    dx, dy = bx - ax, by - ay
    if abs(dx) >= abs(dy):
        return "left of"
    return "above" if ay < by else "below"


def caption_from_objects(objects: list[dict]) -> str:
    """The caption of a layout: objects sorted by box centre x, each "a {size} {colour} {shape}", joined by the
    `relation` of each neighbouring pair, e.g. "a small red circle left of a large blue square above a small green
    triangle".

    Args:
        objects: dicts with "size", "colour", "shape" and "box" ([x0, y0, x1, y1] pixels, x1/y1 exclusive).

    Returns:
        The caption: lower case, single spaces, no final period.
    """
    ordered = sorted(objects, key=lambda obj: _centre(obj["box"])[0])
    words = []
    for index, obj in enumerate(ordered):
        if index:
            words.append(relation(ordered[index - 1]["box"], obj["box"]))
        words.append(f"a {obj['size']} {obj['colour']} {obj['shape']}")
    return " ".join(words)


def parse_caption(caption: str) -> list[ObjectMention]:
    """Read the object mentions of a caption, tolerating text off the grammar (a model's output).

    Every run of words "a <size> <colour> <shape>" (words of `SIZES`, `COLOURS`, `SHAPES`) is a mention; other
    words are skipped. A mention's `relation_to_next` is set only when the words between it and the next mention
    are exactly a relation of `RELATIONS`.

    Args:
        caption: a caption, generated or from the dataset.

    Returns:
        The mentions in caption order (empty when there is none).
    """
    words = caption.split()
    found: list[tuple[int, int, tuple[str, str, str]]] = []  # (first word, shape word, (size, colour, shape))
    index = 0
    while index + 3 < len(words):
        article, size, colour, shape = words[index : index + 4]
        if article == "a" and size in SIZES and colour in COLOURS and shape in SHAPES:
            found.append((index, index + 3, (size, colour, shape)))
            index += 4
        else:
            index += 1
    mentions = []
    for position, (_, shape_index, (size, colour, shape)) in enumerate(found):
        relation_to_next = None
        if position + 1 < len(found):
            between = " ".join(words[shape_index + 1 : found[position + 1][0]])
            relation_to_next = between if between in RELATIONS else None
        mentions.append(ObjectMention(size, colour, shape, shape_index, relation_to_next))
    return mentions


def _boxes_clash(box_a: list[int], box_b: list[int], gap: int) -> bool:
    """Whether two boxes overlap or come closer than `gap` free pixels (ends are exclusive)."""
    ax0, ay0, ax1, ay1 = box_a
    bx0, by0, bx1, by1 = box_b
    apart = ax1 + gap <= bx0 or bx1 + gap <= ax0 or ay1 + gap <= by0 or by1 + gap <= ay0
    return not apart


def _is_unambiguous(boxes: list[list[int]], margin: int) -> bool:
    """Whether the left-to-right order and every neighbour's relation are clear by at least `margin` pixels, so
    that small rendering or reading errors cannot flip a word of the caption."""
    centres = sorted(_centre(box) for box in boxes)
    for (ax, ay), (bx, by) in zip(centres, centres[1:]):
        dx, dy = abs(bx - ax), abs(by - ay)
        if dx < margin or abs(dx - dy) < margin:
            return False
    return True


def relation_triples(objects: list[dict]) -> list[tuple[tuple[str, str], str, tuple[str, str]]]:
    """The (colour, shape) of each object, the relation its caption states, and the (colour, shape) of the next
    object, for each neighbouring pair in caption order (see `caption_from_objects`).

    Args:
        objects: dicts with "colour", "shape" and "box", in any order.
    """
    ordered = sorted(objects, key=lambda obj: _centre(obj["box"])[0])
    return [
        ((a["colour"], a["shape"]), relation(a["box"], b["box"]), (b["colour"], b["shape"]))
        for a, b in zip(ordered, ordered[1:])
    ]


def _draw_attributes(rng: random.Random, num_objects: int, held_out: bool) -> list[tuple[str, str, str]]:
    """(size, colour, shape) of each object: uniform over allowed pairs for train/validation; for test, uniform
    over all pairs conditioned on at least one held-out pair (by redrawing)."""
    allowed = list(ALLOWED_PAIRS)
    pairs = [(c, s) for c in COLOURS for s in SHAPES] if held_out else allowed
    while True:
        drawn = [rng.choice(pairs) for _ in range(num_objects)]
        if not held_out or any(pair in HELD_OUT_COMBINATIONS for pair in drawn):
            return [(rng.choice(SIZES), colour, shape) for colour, shape in drawn]


def _draw_layout(rng: random.Random, sides: list[int], image_size: int, gap: int, margin: int) -> list[list[int]]:
    """Boxes of the given sides placed uniformly inside the image, redrawn until none clash and the caption is
    unambiguous."""
    for _ in range(_MAX_LAYOUT_ATTEMPTS):
        boxes = []
        for side in sides:
            x0, y0 = rng.randint(0, image_size - side), rng.randint(0, image_size - side)
            boxes.append([x0, y0, x0 + side, y0 + side])
        clash = any(_boxes_clash(a, b, gap) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
        if not clash and _is_unambiguous(boxes, margin):
            return boxes
    raise RuntimeError(
        f"Found no layout for boxes of sides {sides} on a {image_size} px canvas in {_MAX_LAYOUT_ATTEMPTS} tries; "
        "please report this bug with the seed and image_size."
    )


def render_objects(objects: list[dict], image_size: int) -> PILImage.Image:
    """Draw `objects` (dicts with "shape", "colour", "box") on a `BACKGROUND` canvas of `image_size` squared.

    A circle is the ellipse inscribed in its box, a square fills it, a triangle points up with its base on the
    box's bottom row and its apex at the top centre. No anti-aliasing: every pixel is the background or an
    object's exact `COLOURS` value.
    """
    image = PILImage.new("RGB", (image_size, image_size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for obj in objects:
        x0, y0, x1, y1 = obj["box"]
        # PIL's shape coordinates are inclusive, the boxes' ends exclusive.
        right, bottom = x1 - 1, y1 - 1
        fill = COLOURS[obj["colour"]]
        if obj["shape"] == "circle":
            draw.ellipse([x0, y0, right, bottom], fill=fill)
        elif obj["shape"] == "square":
            draw.rectangle([x0, y0, right, bottom], fill=fill)
        elif obj["shape"] == "triangle":
            draw.polygon([(x0, bottom), ((x0 + right) / 2, y0), (right, bottom)], fill=fill)
        else:
            raise ValueError(f"Unknown shape {obj['shape']!r}; choose one of {', '.join(SHAPES)}.")
    return image


def _draw_example(rng: random.Random, image_size: int, split: str) -> dict:
    """One image of `split`: its objects are redrawn until the split's condition on `HELD_OUT_RELATIONS` holds (at
    least one for "test_relations", none elsewhere); "test" objects include a pair of `HELD_OUT_COMBINATIONS`."""
    held_out = set(HELD_OUT_RELATIONS)
    while True:
        attributes = _draw_attributes(rng, rng.choice((2, 3)), held_out=split == "test")
        sides = [_scaled(_BOX_SIDE_AT_64[size], image_size) for size, _, _ in attributes]
        gap, margin = _scaled(_GAP_AT_64, image_size), _scaled(_AMBIGUITY_MARGIN_AT_64, image_size)
        boxes = _draw_layout(rng, sides, image_size, gap, margin)
        objects = [
            {"shape": shape, "colour": colour, "size": size, "box": box}
            for (size, colour, shape), box in zip(attributes, boxes)
        ]
        objects.sort(key=lambda obj: _centre(obj["box"])[0])  # caption order
        novel = any(triple in held_out for triple in relation_triples(objects))
        if novel == (split == "test_relations"):
            break
    return {"image": render_objects(objects, image_size), "caption": caption_from_objects(objects), "objects": objects}


# A list literal, not `datasets.List` (added in datasets 4.0; the floor is 3.0) nor `Sequence` (which datasets 3 reads
# back as a dict of lists): both releases read `[feature]` as a list of structs.
FEATURES = Features({
    "image": Image(),
    "caption": Value("string"),
    "objects": [{
        "shape": Value("string"),
        "colour": Value("string"),
        "size": Value("string"),
        "box": [Value("int32")],
    }],
})


def make_shapes_dataset(
    seed: int = 0,
    num_train: int = 4000,
    num_validation: int = 300,
    num_test: int = 300,
    image_size: int = DEFAULT_IMAGE_SIZE,
    num_test_relations: int = 300,
) -> DatasetDict:
    """Build the shapes captioning task: splits "train", "validation", "test", "test_relations" with the `FEATURES`
    columns
    `image` (RGB, `image_size` squared), `caption` and `objects` (in caption order: `{"shape", "colour", "size",
    "box": [x0, y0, x1, y1]}`, pixel coordinates, x1/y1 exclusive).

    Images: 2 or 3 objects (equally likely) of a shape of `SHAPES`, a colour of `COLOURS` and a size of `SIZES`
    (boxes of 12 and 20 px on a 64 px canvas, scaled with `image_size`), placed uniformly with at least 3 px
    (scaled) between boxes, on a light grey `BACKGROUND`.

    Captions (`caption_from_objects`): objects left to right by box centre, each "a {size} {colour} {shape}",
    joined by "left of" when |dx| >= |dy| between neighbouring centres, else "above" / "below" (A higher / lower
    than B). Layouts where neighbouring centres are within 4 px (scaled) in x, or where ||dx| - |dy|| < 4 px, are
    redrawn, so the caption is a function of the image and exact match is a fair metric.

    Splits, two of them compositional (a combination of known parts never seen in training):
    - train and validation never contain a pair of `HELD_OUT_COMBINATIONS` nor two neighbours in a triple of
      `HELD_OUT_RELATIONS`;
    - "test" (new colour-shape pairs, as CLEVR-CoGenT): every image contains at least one held-out pair (its other
      objects are drawn from all pairs), and no held-out relation;
    - "test_relations" (new object-relation-object triples, as SQOOP): objects of allowed pairs only, and every
      image has neighbours in at least one triple of `HELD_OUT_RELATIONS`.
    Each split draws from its own stream of `seed`, so changing one split's size leaves the others as they were.

    Args:
        seed: the same seed gives the same images and captions.
        num_train, num_validation, num_test, num_test_relations: number of images of each split (0 gives an
            empty split).
        image_size: the side of the square images in pixels, at least `MIN_IMAGE_SIZE` (32).

    Returns:
        A `DatasetDict` with splits "train", "validation", "test" and "test_relations".
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    sizes = {"train": num_train, "validation": num_validation, "test": num_test, "test_relations": num_test_relations}
    for name, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"num_{name} must be an int >= 0, got {size!r}.")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size={image_size!r} is too small: three large objects with gaps, and triangles that still look "
            f"like triangles, need an int of at least {MIN_IMAGE_SIZE} pixels (the default is {DEFAULT_IMAGE_SIZE})."
        )
    splits = {}
    for name, size in sizes.items():
        # A string seed makes an independent, reproducible stream per split (hashed with SHA-512, not hash()).
        rng = random.Random(f"synthetic_shapes/{seed}/{name}")
        examples = [_draw_example(rng, image_size, name) for _ in range(size)]
        columns = {column: [example[column] for example in examples] for column in FEATURES}
        splits[name] = Dataset.from_dict(columns, features=FEATURES)
    return DatasetDict(splits)


def _captions(dataset: DatasetDict, split: str) -> list[str]:
    if split not in dataset:
        raise ValueError(f"The dataset has no split {split!r}; its splits are {list(dataset)}.")
    if "caption" not in dataset[split].column_names:
        raise ValueError(
            f"Split {split!r} has columns {dataset[split].column_names}, not a `caption` column; build it with "
            "make_shapes_dataset."
        )
    return dataset[split]["caption"]


def train_caption_tokenizer(
    dataset: DatasetDict, split: str = "train", model_max_length: int = 64
) -> PreTrainedTokenizerFast:
    """A word-level tokenizer of the captions of one split: the special tokens of `subword_tokenizer.SPECIAL_TOKENS`
    at ids 0-3, then every word of those captions (sorted). It appends </s> to every sequence, pads on the right,
    and `decode(encode(caption), skip_special_tokens=True) == caption` for captions of known words.

    Args:
        dataset: splits with a `caption` column (see `make_shapes_dataset`).
        split: the split whose captions make the vocabulary; other words become <unk>.
        model_max_length: stored in the tokenizer config; the longest caption (with </s>) is 17 tokens.

    Returns:
        A `PreTrainedTokenizerFast`.
    """
    captions = _captions(dataset, split)
    if model_max_length < 2:
        raise ValueError(f"model_max_length={model_max_length} leaves no room for a word and </s>; use >= 2.")
    vocabulary = {token: index for index, token in enumerate(SPECIAL_TOKENS.values())}
    for word in sorted({word for caption in captions for word in caption.split()} - set(vocabulary)):
        vocabulary[word] = len(vocabulary)
    backend = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token=SPECIAL_TOKENS["unk_token"]))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # A WordPiece decoder with no "##" continuation pieces joins words with single spaces, and cleanup=False stops
    # it from rewriting spaces around punctuation; it is saved in tokenizer.json, so a reloaded tokenizer agrees.
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", EOS_TOKEN_ID)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=model_max_length,
        padding_side="right",
        clean_up_tokenization_spaces=False,
        **SPECIAL_TOKENS,
    )
    ids = [tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS.values()]
    if ids != [BOS_TOKEN_ID, PAD_TOKEN_ID, EOS_TOKEN_ID, UNK_TOKEN_ID]:
        raise RuntimeError(f"Special token ids came out as {ids}, not [0, 1, 2, 3]; please report this bug.")
    return tokenizer
