"""Subword (BPE, Sennrich et al., arXiv:1508.07909) and character tokenizers trained with `tokenizers` on a
`translation`-layout `DatasetDict`, returned as `PreTrainedTokenizerFast`, and dataset tokenization for
`Seq2SeqTrainer`. Special tokens: `SPECIAL_TOKENS`; joint or separate vocabularies: `save_tokenizers`.
"""

import difflib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from datasets import DatasetDict
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from ..models.zoo_pretrained import TARGET_TOKENIZER_SUBFOLDER  # re-exported: where save_tokenizers puts it

# The ids the model configs use (fairseq's order): bos_token_id=0 (also decoder_start_token_id), pad_token_id=1,
# eos_token_id=2, unk_token_id=3. pad is not 0 because transformers' beam search treats a pad id of 0 as missing
# and fills finished hypotheses with eos instead. Every encoded sequence, source or target, ends with </s>; nothing is prepended (the model shifts
# the labels right and starts the decoder with decoder_start_token_id).
SPECIAL_TOKENS: dict[str, str] = {"bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}
BOS_TOKEN_ID, PAD_TOKEN_ID, EOS_TOKEN_ID, UNK_TOKEN_ID = 0, 1, 2, 3  # the order of SPECIAL_TOKENS
TokenizerModel = Literal["bpe", "char"]
_MODELS: tuple[TokenizerModel, ...] = ("bpe", "char")
# SentencePiece-style whitespace handling: a space becomes part of the next piece as "▁", so decoding is a plain
# concatenation and exact (no detokenizer rules).
_SPACE = "▁"


def _whitespace_handling(model: TokenizerModel) -> tuple[pre_tokenizers.PreTokenizer, decoders.Decoder]:
    """The pre-tokenizer and its matching decoder.

    BPE puts "▁" in front of the first word too (as SentencePiece does), so "Eine" at the start of a sentence and
    "▁Eine" inside it are one token; the decoder drops that one leading space again (so a text that starts with
    a space loses it). Punctuation is split off before merges are learned ("▁Luft" + "." rather than "▁Luft."),
    which keeps decoding exact because the spaces travel inside the pieces. The char model adds no leading "▁"
    (it would be one wasted step per sequence) and decodes every text exactly.
    """
    prepend_scheme = "always" if model == "bpe" else "never"
    metaspace = pre_tokenizers.Metaspace(replacement=_SPACE, prepend_scheme=prepend_scheme, split=True)
    if model == "bpe":
        pre_tokenizer = pre_tokenizers.Sequence([metaspace, pre_tokenizers.Punctuation(behavior="isolated")])
    else:
        pre_tokenizer = metaspace
    return pre_tokenizer, decoders.Metaspace(replacement=_SPACE, prepend_scheme=prepend_scheme, split=True)


def _languages_found(dataset_dict: DatasetDict, split: str) -> list[str]:
    if split not in dataset_dict:
        raise ValueError(f"The dataset has no split {split!r}; its splits are {list(dataset_dict)}.")
    feature = dataset_dict[split].features.get("translation")
    if feature is None:
        raise ValueError(
            f"Split {split!r} has columns {dataset_dict[split].column_names}, not a `translation` column; load it "
            "with hf_attention_zoo.data.parallel_text (load_parallel_files / load_hub_translation)."
        )
    return list(getattr(feature, "languages", None) or feature)


def _texts(dataset_dict: DatasetDict, split: str, languages: Sequence[str]) -> Iterator[str]:
    for batch in dataset_dict[split].iter(batch_size=1_000):
        for pair in batch["translation"]:
            for lang in languages:
                yield pair[lang]


def _char_vocabulary(texts: Iterator[str]) -> dict[str, int]:
    """Special tokens first (ids 0-3), then every character of the text, with spaces as "▁", sorted."""
    characters = set()
    for text in texts:
        characters.update(text.replace(" ", _SPACE))
    vocabulary = {token: index for index, token in enumerate(SPECIAL_TOKENS.values())}
    for character in sorted(characters - set(vocabulary)):
        vocabulary[character] = len(vocabulary)
    return vocabulary


def train_tokenizer(
    dataset_dict: DatasetDict,
    languages: str | Sequence[str],
    *,
    model: TokenizerModel = "bpe",
    vocab_size: int | None = None,
    min_frequency: int | None = None,
    split: str = "train",
    model_max_length: int = 512,
) -> PreTrainedTokenizerFast:
    """Train a tokenizer on the `languages` text of one split of a `translation`-layout `DatasetDict`.

    Args:
        dataset_dict: splits with a `translation` column (see `parallel_text`, `synthetic_dates`).
        languages: the languages whose text is learned: both for a joint vocabulary (`["en", "de"]`), one for
            one side of separate vocabularies (`"en"`).
        model: "bpe" (byte-pair encoding merges learned up to `vocab_size`) or "char" (one token per character
            seen in the training text; suits the dates task). Characters never seen become <unk>.
        vocab_size: BPE only: the vocabulary size including the 4 special tokens (default 8000).
        min_frequency: BPE only: the fewest occurrences for a merge to be learned (default 2).
        split: the split to learn from.
        model_max_length: stored in the tokenizer config; the longest input the model is meant to take.

    Returns:
        A `PreTrainedTokenizerFast` with the special tokens and ids of the module docstring; it appends </s> to
        every sequence and `decode(..., skip_special_tokens=True)` gives back the text (for characters it knows).
    """
    if model not in _MODELS:
        close = difflib.get_close_matches(str(model), _MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown tokenizer model {model!r}.{hint} Choose one of {', '.join(map(repr, _MODELS))}.")
    languages = [languages] if isinstance(languages, str) else list(languages)
    found = _languages_found(dataset_dict, split)
    missing = [lang for lang in languages if lang not in found]
    if not languages or missing:
        raise ValueError(
            f"Cannot train on languages {languages}: split {split!r} has languages {found}. Pass some of those."
        )
    if model_max_length < 2:
        raise ValueError(f"model_max_length={model_max_length} leaves no room for a token and </s>; use >= 2.")

    pre_tokenizer, decoder = _whitespace_handling(model)
    if model == "char":
        if vocab_size is not None or min_frequency is not None:
            raise ValueError(
                f"vocab_size={vocab_size} / min_frequency={min_frequency} only apply to model='bpe'; the char "
                "vocabulary is every character of the training text. Drop them, or use model='bpe'."
            )
        # BPE without merges is a character tokenizer that `tokenizers`, and so AutoTokenizer, loads natively.
        backend = Tokenizer(
            models.BPE(vocab=_char_vocabulary(_texts(dataset_dict, split, languages)), merges=[], unk_token="<unk>")
        )
        backend.pre_tokenizer = pre_tokenizer
    else:
        vocab_size = 8_000 if vocab_size is None else vocab_size
        min_frequency = 2 if min_frequency is None else min_frequency
        if vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"vocab_size={vocab_size} leaves no room beyond the 4 special tokens; use e.g. 8000.")
        backend = Tokenizer(models.BPE(unk_token="<unk>"))
        backend.pre_tokenizer = pre_tokenizer
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS.values()),  # ids 0-3, in this order
            show_progress=False,
        )
        backend.train_from_iterator(_texts(dataset_dict, split, languages), trainer=trainer)
    backend.decoder = decoder
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", EOS_TOKEN_ID)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=model_max_length,
        # The default cleanup would glue "a ." into "a." and break exact decoding.
        clean_up_tokenization_spaces=False,
        **SPECIAL_TOKENS,
    )
    ids = [tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS.values()]
    if ids != [BOS_TOKEN_ID, PAD_TOKEN_ID, EOS_TOKEN_ID, UNK_TOKEN_ID]:
        raise RuntimeError(f"Special token ids came out as {ids}, not [0, 1, 2, 3]; please report this bug.")
    return tokenizer


def save_tokenizers(
    folder: str | os.PathLike[str],
    tokenizer: PreTrainedTokenizerFast,
    target_tokenizer: PreTrainedTokenizerFast | None = None,
) -> None:
    """Save `tokenizer` in `folder` (next to the model) and a separate `target_tokenizer`, if any, in
    `folder/target_tokenizer`.

    Joint or separate vocabularies:
    - Joint (default, `train_tokenizer(ds, [src_lang, tgt_lang])`): one tokenizer for both sides, so the plain
      `tokenizer(src, text_target=tgt)` call of `DataCollatorForSeq2Seq` pipelines works, and it saves with
      `tokenizer.save_pretrained(folder)` and reloads with `AutoTokenizer.from_pretrained(folder)`.
    - Separate (`train_tokenizer(ds, src_lang)` and `train_tokenizer(ds, tgt_lang)`): the source tokenizer is
      saved in `folder` and the target tokenizer in `folder/target_tokenizer`; reload them with
      `load_tokenizers(folder)` or, without this package, `AutoTokenizer.from_pretrained(folder)` and
      `AutoTokenizer.from_pretrained(folder, subfolder="target_tokenizer")`. `text_target=` does NOT switch
      vocabularies (a plain `PreTrainedTokenizerFast` has one): encode targets with the target tokenizer, as
      `tokenize_translation_dataset(..., target_tokenizer=...)` does, and decode generated ids with it too.
    """
    tokenizer.save_pretrained(folder)
    if target_tokenizer is not None:
        target_tokenizer.save_pretrained(Path(folder) / TARGET_TOKENIZER_SUBFOLDER)


def load_tokenizers(folder: str | os.PathLike[str]) -> tuple[PreTrainedTokenizerFast, PreTrainedTokenizerFast]:
    """Load `(source_tokenizer, target_tokenizer)` saved by `save_tokenizers`; with a joint vocabulary (no
    `target_tokenizer/` subfolder) both are the same object."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if (Path(folder) / TARGET_TOKENIZER_SUBFOLDER).is_dir():
        return tokenizer, AutoTokenizer.from_pretrained(folder, subfolder=TARGET_TOKENIZER_SUBFOLDER)
    return tokenizer, tokenizer


def tokenize_translation_dataset(
    dataset_dict: DatasetDict,
    tokenizer: PreTrainedTokenizerFast,
    src_lang: str,
    tgt_lang: str,
    max_source_length: int,
    max_target_length: int,
    *,
    target_tokenizer: PreTrainedTokenizerFast | None = None,
    num_proc: int | None = None,
) -> DatasetDict:
    """Tokenize every split for `Seq2SeqTrainer` + `DataCollatorForSeq2Seq` (which pads, labels with -100).

    Too-long sentences are truncated, not dropped: a source keeps its first `max_source_length - 1` tokens and a
    target its first `max_target_length - 1`, then </s>. No padding here; the collator pads each batch.

    Args:
        dataset_dict: splits with a `translation` column holding `src_lang` and `tgt_lang`.
        tokenizer: encodes the sources (and the targets too with a joint vocabulary).
        src_lang, tgt_lang: the languages to read from each `translation` dict.
        max_source_length, max_target_length: the most tokens (</s> included) of an input / a label sequence.
        target_tokenizer: the target-side tokenizer of separate vocabularies (default: `tokenizer`).
        num_proc: worker processes for `Dataset.map` (default: none).

    Returns:
        A `DatasetDict` with the same splits and the columns `input_ids`, `attention_mask`, `labels`.
    """
    for name, length in (("max_source_length", max_source_length), ("max_target_length", max_target_length)):
        if length < 2:
            raise ValueError(f"{name}={length} leaves no room for a token and </s>; use >= 2.")
    for split in dataset_dict:
        found = _languages_found(dataset_dict, split)
        if src_lang not in found or tgt_lang not in found:
            raise ValueError(
                f"Split {split!r} has languages {found}; pass src_lang/tgt_lang from those "
                f"(got {src_lang!r}, {tgt_lang!r})."
            )
    target_tokenizer = tokenizer if target_tokenizer is None else target_tokenizer

    def encode(batch: dict[str, list]) -> dict[str, list[list[int]]]:
        sources = [pair[src_lang] for pair in batch["translation"]]
        targets = [pair[tgt_lang] for pair in batch["translation"]]
        inputs = tokenizer(sources, max_length=max_source_length, truncation=True)
        labels = target_tokenizer(text_target=targets, max_length=max_target_length, truncation=True)
        return {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"],
                "labels": labels["input_ids"]}

    return DatasetDict({
        split: dataset.map(encode, batched=True, remove_columns=dataset.column_names, num_proc=num_proc)
        for split, dataset in dataset_dict.items()
    })
