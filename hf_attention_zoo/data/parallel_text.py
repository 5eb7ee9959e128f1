"""Parallel text loaders that give every corpus one layout: the Hub `translation` format.

Each split of the returned `DatasetDict` has a single column `translation` holding `{src_lang: str, tgt_lang: str}`
(feature `datasets.Translation`), as in the Hub mirrors of WMT and Multi30k and transformers' translation examples.
"""

import gzip
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset, DatasetDict, DatasetInfo, Features, Translation, load_dataset, load_from_disk
from datasets.table import InMemoryTable

PathLike = str | os.PathLike[str]

# Hub split names → file stems of the Multi30k raw release (github.com/multi30k/dataset, data/task1/raw).
MULTI30K_SPLITS: dict[str, str] = {
    "train": "train",
    "validation": "val",
    "test": "test_2016_flickr",
    "test_2017": "test_2017_flickr",
}

# The Multi30k paper (Elliott et al. 2016), cited wherever a model was trained on Multi30k (model cards).
MULTI30K_CITATION = """@inproceedings{elliott2016multi30k,
  title     = {{Multi30K}: Multilingual {English-German} Image Descriptions},
  author    = {Elliott, Desmond and Frank, Stella and Sima'an, Khalil and Specia, Lucia},
  booktitle = {Proceedings of the 5th Workshop on Vision and Language},
  pages     = {70--74},
  year      = {2016},
  doi       = {10.18653/v1/W16-3210},
  eprint    = {1605.00459},
  archivePrefix = {arXiv}
}"""


def translation_features(src_lang: str, tgt_lang: str) -> Features:
    """The features of every split: one `translation` column of `{src_lang: str, tgt_lang: str}`."""
    if src_lang == tgt_lang:
        raise ValueError(f"src_lang and tgt_lang are both {src_lang!r}; a translation pair needs two languages.")
    return Features({"translation": Translation(languages=[src_lang, tgt_lang])})


def translation_dataset(
    source_texts: Sequence[str], target_texts: Sequence[str], src_lang: str, tgt_lang: str
) -> Dataset:
    """Build one split in the common layout from two aligned lists of sentences.

    Args:
        source_texts: the sentences in `src_lang`.
        target_texts: their translations in `tgt_lang`, in the same order.
        src_lang, tgt_lang: the language codes used as keys of each `translation` dict.
    """
    if len(source_texts) != len(target_texts):
        raise ValueError(
            f"Got {len(source_texts)} {src_lang} sentences but {len(target_texts)} {tgt_lang} sentences; "
            "pass two lists of the same length, aligned by position."
        )
    rows = [{src_lang: source, tgt_lang: target} for source, target in zip(source_texts, target_texts)]
    return Dataset.from_dict({"translation": rows}, features=translation_features(src_lang, tgt_lang))


# --- Local files: <split>.<lang>[.gz], one sentence per line ----------------------------------------------------


def _read_sentences(path: Path) -> list[str]:
    """Read one sentence per line; strip only the line ending ("\\n" or "\\r\\n") and a UTF-8 byte-order mark.

    Raises ValueError naming the file and the 1-based line for undecodable UTF-8 and for empty lines.
    """
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (gzip.BadGzipFile, EOFError) as error:
        raise ValueError(f"{path} is not a readable gzip file ({error}); re-compress it or remove the .gz suffix.") from error
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":  # the newline that ends the last line starts no new line
        lines.pop()
    if lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    sentences = []
    for number, raw in enumerate(lines, start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{path} line {number} is not valid UTF-8 ({error.reason} at byte {error.start} of the line: "
                f"{raw[max(0, error.start - 10) : error.start + 10]!r}). Re-encode the file as UTF-8, e.g. "
                f"`iconv -f latin1 -t utf-8`."
            ) from None
        if not text.strip():
            blank = "empty" if not text else "whitespace only"
            raise ValueError(
                f"{path} line {number} is {blank}. Every line must hold one sentence aligned with the same line "
                f"of the other language's file: delete line {number} from both files, or fill it in."
            )
        sentences.append(text)
    return sentences


def _find_split_file(data_dir: Path, stem: str, lang: str, split: str) -> Path:
    """`<stem>.<lang>` or `<stem>.<lang>.gz` in `data_dir`; FileNotFoundError listing what is there if neither."""
    candidates = [data_dir / f"{stem}.{lang}", data_dir / f"{stem}.{lang}.gz"]
    found = [path for path in candidates if path.is_file()]
    if len(found) == 2:
        raise ValueError(
            f"Both {found[0]} and {found[1]} exist for split {split!r}; remove one so the choice is not silent."
        )
    if not found:
        present = sorted(path.name for path in data_dir.iterdir())
        raise FileNotFoundError(
            f"No file {candidates[0].name} or {candidates[1].name} in {data_dir} for split {split!r}. "
            f"Files there: {', '.join(present) or '(none)'}. Files must be named <split>.<lang>[.gz]; pass "
            f"splits= with the stems that exist, or src_lang=/tgt_lang= matching the file suffixes."
        )
    return found[0]


def _discover_stems(data_dir: Path, src_lang: str) -> list[str]:
    """Every stem with a `<stem>.<src_lang>[.gz]` file in `data_dir`, sorted."""
    stems = set()
    for path in data_dir.iterdir():
        for suffix in (f".{src_lang}", f".{src_lang}.gz"):
            if path.is_file() and path.name.endswith(suffix) and len(path.name) > len(suffix):
                stems.add(path.name[: -len(suffix)])
    if not stems:
        present = sorted(path.name for path in data_dir.iterdir())
        raise FileNotFoundError(
            f"No file named <split>.{src_lang} or <split>.{src_lang}.gz in {data_dir}. Files there: "
            f"{', '.join(present) or '(none)'}. Check src_lang= or the directory."
        )
    return sorted(stems)


def load_parallel_files(
    data: PathLike | Mapping[str, tuple[PathLike, PathLike]],
    src_lang: str = "en",
    tgt_lang: str = "de",
    splits: Sequence[str] | Mapping[str, str] | None = None,
) -> DatasetDict:
    """Load line-aligned parallel text files (plain or gzip) into the common `translation` layout.

    The text of each line is kept as is, except for its line ending ("\\n" or "\\r\\n") and a UTF-8 byte-order
    mark at the start of a file.

    Args:
        data: a directory of files named `<stem>.<lang>` or `<stem>.<lang>.gz` (the Multi30k layout:
            `train.en.gz`, `val.de.gz`, `test_2016_flickr.en.gz`, ...), or a mapping
            `{split: (source_path, target_path)}`.
        src_lang, tgt_lang: the file suffixes of the two languages, also the keys of each `translation` dict.
        splits: with a directory only. None loads every stem that has a `src_lang` file, each split named after
            its stem; a sequence of stems loads those; a mapping `{split: stem}` renames them, e.g.
            `MULTI30K_SPLITS` gives Multi30k the Hub split names ("validation" for `val`, "test" for
            `test_2016_flickr`).

    Returns:
        A `DatasetDict` with one split per stem (or mapping key), each with one column `translation`.

    Raises:
        FileNotFoundError: a missing directory or file (the message lists the files that are there).
        ValueError: files with different line counts (both counts and both files), an empty line or invalid
            UTF-8 (file and 1-based line number).
    """
    translation_features(src_lang, tgt_lang)  # rejects src_lang == tgt_lang before any file is read
    if isinstance(data, Mapping):
        if splits is not None:
            raise ValueError("splits= only applies to a directory; with a mapping, its keys are the splits.")
        files = {}
        for split, paths in data.items():
            if isinstance(paths, (str, os.PathLike)) or len(paths) != 2:
                raise ValueError(
                    f"Split {split!r} maps to {paths!r}; give a pair (source_path, target_path)."
                )
            files[split] = (Path(paths[0]), Path(paths[1]))
    else:
        data_dir = Path(data)
        if not data_dir.is_dir():
            raise FileNotFoundError(f"{data_dir} is not a directory; pass the folder that holds <split>.<lang>[.gz].")
        if splits is None:
            splits = _discover_stems(data_dir, src_lang)
        if isinstance(splits, str):
            raise ValueError(f"splits={splits!r} is a string; pass a list of stems, e.g. [{splits!r}].")
        stems = dict(splits) if isinstance(splits, Mapping) else {stem: stem for stem in splits}
        files = {
            split: (
                _find_split_file(data_dir, stem, src_lang, split),
                _find_split_file(data_dir, stem, tgt_lang, split),
            )
            for split, stem in stems.items()
        }

    dataset = {}
    for split, (source_path, target_path) in files.items():
        for path in (source_path, target_path):
            if not path.is_file():
                listing = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
                raise FileNotFoundError(
                    f"No file {path} for split {split!r}. Files in {path.parent}: {', '.join(listing) or '(none)'}."
                )
        sources, targets = _read_sentences(source_path), _read_sentences(target_path)
        if len(sources) != len(targets):
            raise ValueError(
                f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)} lines (split "
                f"{split!r}). Parallel files must be line-aligned, one sentence per line in the same order: "
                "check that both files come from the same release and split."
            )
        dataset[split] = translation_dataset(sources, targets, src_lang, tgt_lang)
    return DatasetDict(dataset)


# --- Hub datasets (or local copies of them) ---------------------------------------------------------------------


def _language_columns(
    table: pa.Table, split: str, dataset_id: str, src_lang: str, tgt_lang: str
) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """The two string columns of one split: from the `translation` struct, or from plain `src_lang`/`tgt_lang`
    columns (the layout of some mirrors, e.g. bentrevett/multi30k)."""
    if "translation" in table.column_names:
        column = table.column("translation")
        if not pa.types.is_struct(column.type):
            raise ValueError(
                f"{dataset_id} split {split!r}: the translation column is {column.type}, not a struct of languages "
                "(a datasets.TranslationVariableLanguages column is not supported); convert it to "
                "{src_lang: str, tgt_lang: str} dicts first."
            )
        found = [column.type.field(i).name for i in range(column.type.num_fields)]
        missing = [lang for lang in (src_lang, tgt_lang) if lang not in found]
        if missing:
            raise ValueError(
                f"{dataset_id} split {split!r}: the translation column has languages {found}, not {missing}. Pass "
                f"src_lang/tgt_lang from {found}, or config_name= for a dataset with one config per language "
                "pair (e.g. wmt/wmt16 'de-en')."
            )
        return pc.struct_field(column, src_lang), pc.struct_field(column, tgt_lang)
    if src_lang in table.column_names and tgt_lang in table.column_names:
        return table.column(src_lang), table.column(tgt_lang)
    raise ValueError(
        f"{dataset_id} split {split!r} has columns {table.column_names}: neither a `translation` column nor "
        f"columns named {src_lang!r} and {tgt_lang!r}. Pass src_lang/tgt_lang matching the column names."
    )


def _check_sentences(column: pa.ChunkedArray, lang: str, split: str, dataset_id: str) -> pa.ChunkedArray:
    """Cast to string and reject missing or empty sentences, naming the split and 0-based row."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise ValueError(
            f"{dataset_id} split {split!r}: the {lang!r} text has type {column.type}, not string; pass the "
            "language codes of the text columns."
        )
    column = pc.cast(column, pa.string())
    problems = {
        "missing (null)": pc.is_null(column),
        "empty or whitespace only": pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0),
    }
    for what, mask in problems.items():
        row = pc.index(pc.fill_null(mask, False), True).as_py()
        if row >= 0:
            raise ValueError(
                f"{dataset_id} split {split!r} row {row}: the {lang!r} sentence is {what}. Drop such rows first "
                "(datasets.load_dataset(...).filter(...)) and pass the cleaned dataset saved with save_to_disk."
            )
    return column


def load_hub_translation(
    dataset_id: PathLike,
    src_lang: str,
    tgt_lang: str,
    *,
    config_name: str | None = None,
    splits: Sequence[str] | None = None,
    revision: str | None = None,
    cache_dir: PathLike | None = None,
) -> DatasetDict:
    """Load a translation dataset with `datasets` and return it in the common layout.

    Accepts the Hub `translation` format (a `translation` column of language → text, e.g. wmt/wmt16) and mirrors
    with one plain string column per language (e.g. bentrevett/multi30k with `en` and `de` columns). Only the two
    languages are kept and every other column is dropped. Nothing is downloaded for a local path.

    Args:
        dataset_id: a Hub dataset id, a local directory in the layout of a Hub dataset repository (JSON lines,
            parquet or CSV files, loaded as `datasets.load_dataset(dataset_id)` would load the repository), or a
            directory written by `Dataset.save_to_disk`/`DatasetDict.save_to_disk` (a single `Dataset` becomes
            the split "train").
        src_lang, tgt_lang: the two languages to keep.
        config_name: the dataset configuration, e.g. "de-en" for wmt/wmt16.
        splits: the splits to keep (default: all).
        revision: a Hub branch, tag or commit.
        cache_dir: where `datasets` caches downloads and prepared files (default: its own cache).

    Returns:
        A `DatasetDict` whose splits have one `translation` column of `{src_lang: str, tgt_lang: str}`.

    Raises:
        ValueError: a language that is not in the data (the message lists those found), an unknown split, or a
            missing or empty sentence (split and row).
    """
    features = translation_features(src_lang, tgt_lang)
    local = Path(dataset_id)
    if local.is_dir() and ((local / "dataset_dict.json").is_file() or (local / "state.json").is_file()):
        loaded = load_from_disk(str(local))
        if isinstance(loaded, Dataset):
            loaded = DatasetDict({"train": loaded})
    else:
        loaded = load_dataset(
            str(dataset_id), config_name, revision=revision, cache_dir=None if cache_dir is None else str(cache_dir)
        )
    if splits is not None:
        unknown = [split for split in splits if split not in loaded]
        if unknown:
            raise ValueError(f"{dataset_id} has no split {unknown}; its splits are {list(loaded)}.")
        loaded = DatasetDict({split: loaded[split] for split in splits})

    dataset = {}
    for split, split_dataset in loaded.items():
        # Arrow columns rather than `Dataset.map`: no cache files are written (not even into a save_to_disk
        # directory) and a multi-million-row WMT split converts in seconds.
        table = split_dataset.with_format("arrow")[:]
        source, target = _language_columns(table, split, str(dataset_id), src_lang, tgt_lang)
        columns = {
            src_lang: _check_sentences(source, src_lang, split, str(dataset_id)),
            tgt_lang: _check_sentences(target, tgt_lang, split, str(dataset_id)),
        }
        languages = sorted(columns)  # datasets.Translation stores its languages in sorted order
        pairs = pa.table({lang: columns[lang] for lang in languages}).to_struct_array()
        dataset[split] = Dataset(
            InMemoryTable(pa.table({"translation": pairs})), info=DatasetInfo(features=features), split=split
        )
    return DatasetDict(dataset)
