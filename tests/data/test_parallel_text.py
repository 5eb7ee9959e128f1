"""Tests of hf_attention_zoo.data.parallel_text: local files and Hub-format datasets load into one `translation` layout,
and broken files fail naming the file and line."""

import gzip
import json
from pathlib import Path

import pytest
from datasets import DatasetDict

from hf_attention_zoo.data.parallel_text import (
    MULTI30K_SPLITS,
    load_hub_translation,
    load_parallel_files,
    translation_dataset,
)

MULTI30K_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "multi30k"
# Line counts from shared/data/multi30k/README.md.
MULTI30K_LINES = {"train": 29000, "val": 1014, "test_2016_flickr": 1000, "test_2017_flickr": 1000}

CORPUS = {
    "train": (
        ["A dog runs.", "Two  spaces inside", "  leading and trailing  ", "Grüße, café, naïve — “quotes”"],
        ["Ein Hund rennt.", "Zwei  Leerzeichen", "  vorne und hinten  ", "Grüße, Café, naiv — „Zitat“"],
    ),
    "val": (["A cat sleeps.", "Tabs\tstay"], ["Eine Katze schläft.", "Tabs\tbleiben"]),
}


def write_lines(path: Path, lines: list[str], newline: str = "\n") -> None:
    data = "".join(line + newline for line in lines).encode("utf-8")
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """CORPUS as files: train plain text, val gzip-compressed (both layouts of the loader)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_lines(folder / "train.en", CORPUS["train"][0])
    write_lines(folder / "train.de", CORPUS["train"][1])
    write_lines(folder / "val.en.gz", CORPUS["val"][0])
    write_lines(folder / "val.de.gz", CORPUS["val"][1])
    return folder


def corpus_rows(split: str) -> list[dict]:
    return [{"translation": {"en": en, "de": de}} for en, de in zip(*CORPUS[split])]


def test_plain_and_gzip_files_load_into_the_translation_layout(corpus_dir):
    dataset = load_parallel_files(corpus_dir, "en", "de")
    assert sorted(dataset) == ["train", "val"]
    for split in ("train", "val"):
        assert dataset[split].column_names == ["translation"]
        assert dataset[split].to_list() == corpus_rows(split)


def test_text_is_kept_as_is_except_the_line_ending(tmp_path):
    lines = ["  leading", "trailing  ", "in  between", "tab\tand\u00a0nbsp"]
    write_lines(tmp_path / "train.en", lines, newline="\r\n")
    (tmp_path / "train.de").write_bytes("\n".join(lines).encode())  # no newline after the last line
    dataset = load_parallel_files(tmp_path, "en", "de")
    assert [row["en"] for row in dataset["train"]["translation"]] == lines
    assert [row["de"] for row in dataset["train"]["translation"]] == lines


def test_splits_mapping_gives_multi30k_style_stems_hub_split_names(corpus_dir):
    dataset = load_parallel_files(corpus_dir, "en", "de", splits={"validation": "val"})
    assert list(dataset) == ["validation"]
    assert dataset["validation"].to_list() == corpus_rows("val")


def test_explicit_split_to_files_mapping_loads_files_with_any_names(corpus_dir, tmp_path):
    write_lines(tmp_path / "source.txt", CORPUS["val"][0])
    write_lines(tmp_path / "target.txt", CORPUS["val"][1])
    dataset = load_parallel_files({"test": (tmp_path / "source.txt", str(tmp_path / "target.txt"))}, "en", "de")
    assert dataset["test"].to_list() == corpus_rows("val")


def test_missing_file_error_names_it_and_lists_the_directory(corpus_dir):
    with pytest.raises(FileNotFoundError, match=r"No file test\.en or test\.en\.gz in .*corpus.*Files there: "
                                                r"train\.de, train\.en, val\.de\.gz, val\.en\.gz"):
        load_parallel_files(corpus_dir, "en", "de", splits=["train", "test"])
    with pytest.raises(FileNotFoundError, match=r"No file named <split>\.fr or <split>\.fr\.gz"):
        load_parallel_files(corpus_dir, "fr", "de")


def test_mismatched_line_counts_name_both_files_and_both_counts(corpus_dir):
    write_lines(corpus_dir / "train.de", CORPUS["train"][1][:-1])
    with pytest.raises(ValueError, match=r"train\.en has 4 lines but .*train\.de has 3 lines"):
        load_parallel_files(corpus_dir, "en", "de", splits=["train"])


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_line_error_names_file_and_line_number(corpus_dir, blank):
    write_lines(corpus_dir / "val.de.gz", ["Eine Katze schläft.", blank, "Noch einer"])
    write_lines(corpus_dir / "val.en.gz", ["A cat sleeps.", "Empty partner", "One more"])
    with pytest.raises(ValueError, match=r"val\.de\.gz line 2 is (empty|whitespace only).*delete line 2 from both"):
        load_parallel_files(corpus_dir, "en", "de", splits=["val"])


def test_invalid_utf8_error_names_file_and_line_number(corpus_dir):
    (corpus_dir / "train.de").write_bytes("Ein Hund rennt.\nZwei\nGr\xfc\xdfe\n".encode("latin-1") + b"x\n")
    with pytest.raises(ValueError, match=r"train\.de line 3 is not valid UTF-8.*iconv"):
        load_parallel_files(corpus_dir, "en", "de", splits=["train"])


def test_same_language_twice_is_rejected(corpus_dir):
    with pytest.raises(ValueError, match="both 'en'"):
        load_parallel_files(corpus_dir, "en", "en")


def write_hub_layouts(root: Path, dataset: DatasetDict) -> dict[str, Path]:
    """`dataset` in the layouts a Hub translation repo (or a local copy of one) comes in."""
    layouts = {name: root / name for name in ("jsonl", "parquet", "plain_columns", "save_to_disk")}
    for path in layouts.values():
        path.mkdir(parents=True)
    (layouts["parquet"] / "data").mkdir()
    for split, split_dataset in dataset.items():
        rows = split_dataset.to_list()
        with open(layouts["jsonl"] / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        # The file names push_to_hub writes.
        split_dataset.to_parquet(layouts["parquet"] / "data" / f"{split}-00000-of-00001.parquet")
        with open(layouts["plain_columns"] / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps({**row["translation"], "id": i}) + "\n" for i, row in enumerate(rows))
    dataset.save_to_disk(layouts["save_to_disk"])
    return layouts


def test_local_files_and_every_hub_layout_give_the_same_dataset(corpus_dir, tmp_path):
    local = load_parallel_files(corpus_dir, "en", "de", splits={"train": "train", "validation": "val"})
    for layout, path in write_hub_layouts(tmp_path / "hub", local).items():
        hub = load_hub_translation(path, "en", "de", cache_dir=tmp_path / "cache")
        assert list(hub) == ["train", "validation"], layout
        for split in local:
            assert hub[split].features == local[split].features, layout
            assert hub[split].to_list() == local[split].to_list(), layout


def test_hub_loader_keeps_only_the_two_languages_asked_for(tmp_path):
    rows = [{"translation": {"en": "a", "de": "b", "fr": "c"}, "id": 0}]
    (tmp_path / "train.jsonl").write_text(json.dumps(rows[0]) + "\n")
    dataset = load_hub_translation(tmp_path, "fr", "en", cache_dir=tmp_path / "cache")
    assert dataset["train"].to_list() == [{"translation": {"en": "a", "fr": "c"}}]


def test_hub_loader_error_lists_the_languages_found(corpus_dir, tmp_path):
    local = load_parallel_files(corpus_dir, "en", "de")
    local.save_to_disk(tmp_path / "saved")
    with pytest.raises(ValueError, match=r"translation column has languages \['de', 'en'\], not \['fr'\]"):
        load_hub_translation(tmp_path / "saved", "en", "fr")
    with pytest.raises(ValueError, match=r"has no split \['test'\]; its splits are \['train', 'val'\]"):
        load_hub_translation(tmp_path / "saved", "en", "de", splits=["test"])


def test_hub_loader_error_lists_columns_when_there_is_no_translation_column(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps({"source": "a", "target": "b"}) + "\n")
    with pytest.raises(ValueError, match=r"has columns \['source', 'target'\]: neither a `translation` column"):
        load_hub_translation(tmp_path, "en", "de", cache_dir=tmp_path / "cache")


def test_hub_loader_rejects_an_empty_sentence_naming_split_and_row(tmp_path):
    translation_dataset(["a", "b", "  "], ["x", "y", "z"], "en", "de").to_json(tmp_path / "train.jsonl")
    with pytest.raises(ValueError, match=r"split 'train' row 2: the 'en' sentence is empty or whitespace only"):
        load_hub_translation(tmp_path, "en", "de", cache_dir=tmp_path / "cache")


@pytest.fixture
def multi30k_dir() -> Path:
    if not (MULTI30K_DIR / "val.en.gz").is_file():
        pytest.skip(f"Multi30k is not at {MULTI30K_DIR} (the shared data folder next to the repository)")
    return MULTI30K_DIR


def test_multi30k_line_counts_match_its_readme(multi30k_dir):
    dataset = load_parallel_files(multi30k_dir, "en", "de")
    assert {split: len(rows) for split, rows in dataset.items()} == MULTI30K_LINES
    named = load_parallel_files(multi30k_dir, "en", "de", splits=MULTI30K_SPLITS)
    assert {split: len(named[split]) for split in MULTI30K_SPLITS} == {
        split: MULTI30K_LINES[stem] for split, stem in MULTI30K_SPLITS.items()
    }


def test_multi30k_validation_split_is_the_same_through_the_hub_loader(multi30k_dir, tmp_path):
    local = load_parallel_files(multi30k_dir, "en", "de", splits={"validation": "val"})
    hub = load_hub_translation(write_hub_layouts(tmp_path, local)["jsonl"], "en", "de", cache_dir=tmp_path / "c")
    assert hub["validation"].to_list() == local["validation"].to_list()
    first = local["validation"][0]["translation"]
    assert first["en"] == "A group of men are loading cotton onto a truck"
