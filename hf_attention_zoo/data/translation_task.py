"""The translation task the scripts train and evaluate on: which corpus, which language pair, which tokenizer, chosen
with one `DataArguments` dataclass (for `HfArgumentParser`) and loaded into the common `translation` layout.

A task is the built-in synthetic dates task (`synthetic_dates`), a directory of line-aligned parallel files
(`parallel_text.load_parallel_files`, e.g. ../shared/data/multi30k), or a Hub dataset id / local Hub-layout folder
(`parallel_text.load_hub_translation`). It is stored next to a trained model as `TASK_FILE`, so evaluation can
rebuild the same splits.
"""

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from datasets import DatasetDict

from .parallel_text import MULTI30K_CITATION, MULTI30K_SPLITS, load_hub_translation, load_parallel_files
from .subword_tokenizer import load_tokenizers, save_tokenizers, tokenize_translation_dataset, train_tokenizer
from .synthetic_dates import SOURCE_LANG, TARGET_LANG, make_dates_dataset

DATES = "dates"
TASK_FILE = "zoo_task.json"
# File stems other corpora use for the validation split (Multi30k's is "val").
_VALIDATION_STEMS = ("validation", "valid", "val", "dev")


@dataclass
class DataArguments:
    """The data of a training or evaluation run (every field is a command-line option of the scripts)."""

    dataset: str = field(
        default=DATES,
        metadata={"help": "'dates' (the built-in synthetic task), a directory of parallel files "
                          "(<split>.<lang>[.gz], e.g. ../shared/data/multi30k), or a Hub dataset id / local folder "
                          "in a Hub dataset's layout."},
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "Hub dataset config (e.g. 'de-en')."})
    source_lang: str | None = field(default=None, metadata={"help": "Source language (default: human for dates, else en)."})
    target_lang: str | None = field(default=None, metadata={"help": "Target language (default: iso for dates, else de)."})
    num_train: int = field(default=20_000, metadata={"help": "dates only: synthetic training pairs."})
    num_validation: int = field(default=1_000, metadata={"help": "dates only: synthetic validation pairs."})
    num_test: int = field(default=1_000, metadata={"help": "dates only: synthetic test pairs."})
    dates_seed: int = field(default=0, metadata={"help": "dates only: the seed the pairs are drawn with."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training pairs."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N pairs of each other split."})
    tokenizer_model: Literal["auto", "bpe", "char"] = field(
        default="auto", metadata={"help": "Tokenizer trained on the training split: auto = char for dates, else BPE."}
    )
    vocab_size: int = field(default=8000, metadata={"help": "BPE vocabulary size (per side when not joint)."})
    joint_vocabulary: bool = field(
        default=True, metadata={"help": "One tokenizer for both languages (false: one per side)."}
    )
    max_source_length: int | None = field(
        default=None, metadata={"help": "Most source tokens, </s> included (default: 48 for dates, else 128)."}
    )
    max_target_length: int | None = field(
        default=None, metadata={"help": "Most target tokens, </s> included (default: 16 for dates, else 128)."}
    )

    def __post_init__(self):
        is_dates = self.dataset == DATES
        self.source_lang = self.source_lang or (SOURCE_LANG if is_dates else "en")
        self.target_lang = self.target_lang or (TARGET_LANG if is_dates else "de")
        self.max_source_length = self.max_source_length or (48 if is_dates else 128)
        self.max_target_length = self.max_target_length or (16 if is_dates else 128)
        if self.tokenizer_model == "auto":
            self.tokenizer_model = "char" if is_dates else "bpe"
        for name in ("num_train", "num_validation", "num_test", "vocab_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} {getattr(self, name)} must be a positive integer.")

    @property
    def description(self) -> str:
        """A human-readable name of the corpus, for summaries and model cards."""
        if self.dataset == DATES:
            return (f"synthetic dates (hf_attention_zoo.data.synthetic_dates, seed {self.dates_seed}: "
                    f"{self.num_train}/{self.num_validation}/{self.num_test} pairs)")
        kind = "local parallel files" if _is_parallel_file_dir(self) else "Hub dataset"
        return f"{Path(self.dataset).name or self.dataset} {self.source_lang}-{self.target_lang} ({kind})"


def _is_parallel_file_dir(data_args: DataArguments) -> bool:
    folder, lang = Path(data_args.dataset), data_args.source_lang
    return folder.is_dir() and (any(folder.glob(f"*.{lang}")) or any(folder.glob(f"*.{lang}.gz")))


def _split_names(folder: Path, src_lang: str) -> dict[str, str]:
    """Hub split names for the file stems in `folder`: Multi30k's names when its files are there, otherwise every
    stem under its own name, with the first validation-like stem ("val", "dev", ...) renamed "validation"."""
    stems = {path.name.split(f".{src_lang}")[0] for path in folder.iterdir() if f".{src_lang}" in path.name}
    if set(MULTI30K_SPLITS.values()) <= stems:
        return dict(MULTI30K_SPLITS)
    names = {stem: stem for stem in sorted(stems)}
    validation = next((stem for stem in _VALIDATION_STEMS if stem in stems), None)
    if validation is not None and "validation" not in stems:
        names["validation"] = names.pop(validation)
    return names


def load_translation_task(data_args: DataArguments) -> DatasetDict:
    """Load the corpus of `data_args` into the `translation` layout, cut to `max_train_samples` /
    `max_eval_samples`; it must have a `train` and a `validation` split."""
    if data_args.dataset == DATES:
        dataset = make_dates_dataset(data_args.num_train, data_args.num_validation, data_args.num_test,
                                     seed=data_args.dates_seed)
    elif _is_parallel_file_dir(data_args):
        folder = Path(data_args.dataset)
        dataset = load_parallel_files(folder, data_args.source_lang, data_args.target_lang,
                                      splits=_split_names(folder, data_args.source_lang))
    elif not Path(data_args.dataset).exists() and (
        data_args.dataset.startswith((".", "/", "~")) or data_args.dataset.count("/") > 1
    ):
        raise FileNotFoundError(
            f"--dataset {data_args.dataset}: there is no such directory. Pass 'dates', a directory of "
            "<split>.<lang>[.gz] files, or a Hub dataset id (owner/name)."
        )
    else:
        dataset = load_hub_translation(data_args.dataset, data_args.source_lang, data_args.target_lang,
                                       config_name=data_args.dataset_config_name)
    for required in ("train", "validation"):
        if required not in dataset:
            raise ValueError(
                f"{data_args.dataset} has the splits {list(dataset)} but no {required!r} split; the scripts train "
                "on 'train' and pick the best checkpoint on 'validation' (name the files train.<lang> and "
                "val.<lang> / validation.<lang>)."
            )
    limits = {split: data_args.max_train_samples if split == "train" else data_args.max_eval_samples
              for split in dataset}
    return DatasetDict({
        split: data if limits[split] is None else data.select(range(min(limits[split], len(data))))
        for split, data in dataset.items()
    })


def train_task_tokenizers(dataset: DatasetDict, data_args: DataArguments):
    """Train `(source_tokenizer, target_tokenizer)` on the training split: one joint tokenizer (the same object
    twice) or one per side, as `data_args.joint_vocabulary` says."""
    options = dict(model=data_args.tokenizer_model, model_max_length=data_args.max_source_length)
    if data_args.tokenizer_model == "bpe":
        options["vocab_size"] = data_args.vocab_size
    src, tgt = data_args.source_lang, data_args.target_lang
    if data_args.joint_vocabulary:
        tokenizer = train_tokenizer(dataset, [src, tgt], **options)
        return tokenizer, tokenizer
    return train_tokenizer(dataset, src, **options), train_tokenizer(dataset, tgt, **options)


def prepare_translation_task(data_args: DataArguments):
    """Everything a training run needs from the data: `(dataset, source_tokenizer, target_tokenizer, tokenized)`,
    the corpus in the `translation` layout, the tokenizer(s) trained on its training split, and every split
    tokenized for `Seq2SeqTrainer` / `DataCollatorForSeq2Seq`."""
    dataset = load_translation_task(data_args)
    source_tokenizer, target_tokenizer = train_task_tokenizers(dataset, data_args)
    tokenized = tokenize_translation_dataset(
        dataset, source_tokenizer, data_args.source_lang, data_args.target_lang, data_args.max_source_length,
        data_args.max_target_length, target_tokenizer=target_tokenizer,
    )
    return dataset, source_tokenizer, target_tokenizer, tokenized


def save_task(folder: str | os.PathLike[str], data_args: DataArguments, source_tokenizer, target_tokenizer) -> None:
    """Save the tokenizer(s) and the data arguments next to a model."""
    save_tokenizers(folder, source_tokenizer, None if target_tokenizer is source_tokenizer else target_tokenizer)
    (Path(folder) / TASK_FILE).write_text(json.dumps(dataclasses.asdict(data_args), indent=2) + "\n")


def model_card_fields(data_args: DataArguments) -> dict:
    """The data keywords of `model_card.render_model_card` for this task."""
    is_hub_id = data_args.dataset != DATES and not Path(data_args.dataset).exists()
    return dict(
        source_lang=data_args.source_lang,
        target_lang=data_args.target_lang,
        dataset_name=data_args.description,
        dataset_id=data_args.dataset if is_hub_id else None,
        dataset_citation=MULTI30K_CITATION if "multi30k" in data_args.dataset.lower() else None,
    )


def load_task(folder: str | os.PathLike[str], **overrides) -> tuple[DataArguments, object, object]:
    """`(data_args, source_tokenizer, target_tokenizer)` saved by `save_task`; `overrides` replace saved fields
    (e.g. `dataset=` to evaluate on another copy of the corpus)."""
    path = Path(folder) / TASK_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: {folder} was not saved by scripts/train.py. Pass the data options "
            "(--dataset, --source_lang, --target_lang) explicitly."
        )
    fields = json.loads(path.read_text())
    fields.update({name: value for name, value in overrides.items() if value is not None})
    return (DataArguments(**fields), *load_tokenizers(folder))


def load_task_or_options(folder: str | os.PathLike[str], dataset: str | None = None, source_lang: str | None = None,
                         target_lang: str | None = None) -> tuple[DataArguments, object, object]:
    """`load_task`, or, for a model folder without `zoo_task.json` (one not saved by scripts/train.py), the data
    named by `dataset` / `source_lang` / `target_lang` with the folder's tokenizers."""
    try:
        return load_task(folder, dataset=dataset, source_lang=source_lang, target_lang=target_lang)
    except FileNotFoundError:
        if not dataset:
            raise
        return (DataArguments(dataset=dataset, source_lang=source_lang, target_lang=target_lang),
                *load_tokenizers(folder))
