"""The scripts' data and model options: which corpus, languages, tokenizer and config a run gets, and the task
saved next to a model."""

import json
from pathlib import Path

import pytest

from hf_attention_zoo import TransformerSeq2SeqConfig
from hf_attention_zoo.training.model_arguments import ModelArguments, build_model_config, parse_config_overrides
from hf_attention_zoo.data.translation_task import (
    TASK_FILE,
    DataArguments,
    load_task,
    load_translation_task,
    model_card_fields,
    prepare_translation_task,
    save_task,
)

MULTI30K_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "multi30k"
PAIRS = [("A dog runs.", "Ein Hund rennt."), ("Two men talk.", "Zwei Männer reden."), ("A red car.", "Ein rotes Auto.")]


def write_corpus(folder: Path, stems=("train", "dev", "test")) -> Path:
    folder.mkdir()
    for stem in stems:
        (folder / f"{stem}.en").write_text("".join(f"{en}\n" for en, _ in PAIRS))
        (folder / f"{stem}.de").write_text("".join(f"{de}\n" for _, de in PAIRS))
    return folder


def test_the_dates_task_and_text_corpora_get_their_own_defaults(tmp_path):
    dates = DataArguments()
    assert (dates.source_lang, dates.target_lang, dates.tokenizer_model) == ("human", "iso", "char")
    assert (dates.max_source_length, dates.max_target_length) == (48, 16)
    text = DataArguments(dataset=str(write_corpus(tmp_path / "corpus")))
    assert (text.source_lang, text.target_lang, text.tokenizer_model) == ("en", "de", "bpe")
    assert (text.max_source_length, text.max_target_length) == (128, 128)


def test_local_files_get_hub_split_names_and_sample_limits(tmp_path):
    data_args = DataArguments(dataset=str(write_corpus(tmp_path / "corpus")), max_train_samples=2, max_eval_samples=1)
    dataset = load_translation_task(data_args)
    assert sorted(dataset) == ["test", "train", "validation"]
    assert (len(dataset["train"]), len(dataset["validation"])) == (2, 1)
    assert dataset["validation"][0]["translation"] == {"en": PAIRS[0][0], "de": PAIRS[0][1]}


def test_hub_layout_folder_gives_the_same_dataset_as_local_files(tmp_path):
    files = load_translation_task(DataArguments(dataset=str(write_corpus(tmp_path / "corpus"))))
    hub = tmp_path / "hub"
    hub.mkdir()
    for split, name in (("train", "train"), ("validation", "validation"), ("test", "test")):
        rows = [{"translation": {"en": en, "de": de}} for en, de in PAIRS]
        (hub / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    from_hub = load_translation_task(DataArguments(dataset=str(hub), source_lang="en", target_lang="de"))
    for split in files:
        assert from_hub[split]["translation"] == files[split]["translation"]


def test_a_corpus_without_a_validation_split_is_refused(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", stems=("train", "test"))
    with pytest.raises(ValueError, match="no 'validation' split"):
        load_translation_task(DataArguments(dataset=str(corpus)))


def test_multi30k_raw_files_load_under_hub_split_names():
    if not (MULTI30K_DIR / "val.en.gz").is_file():
        pytest.skip(f"Multi30k is not at {MULTI30K_DIR} (the shared data folder next to the repository)")
    data_args = DataArguments(dataset=str(MULTI30K_DIR))
    dataset = load_translation_task(data_args)
    assert {split: len(rows) for split, rows in dataset.items()} == {
        "train": 29000, "validation": 1014, "test": 1000, "test_2017": 1000}
    assert "Elliott" in model_card_fields(data_args)["dataset_citation"]


@pytest.mark.parametrize("joint", [True, False])
def test_saved_task_reloads_the_same_data_and_tokenizers(tmp_path, joint):
    data_args = DataArguments(num_train=200, num_validation=10, num_test=10, joint_vocabulary=joint)
    dataset, source_tokenizer, target_tokenizer, tokenized = prepare_translation_task(data_args)
    assert (source_tokenizer is target_tokenizer) == joint
    save_task(tmp_path, data_args, source_tokenizer, target_tokenizer)
    assert json.loads((tmp_path / TASK_FILE).read_text())["joint_vocabulary"] == joint
    loaded_args, loaded_source, loaded_target = load_task(tmp_path, max_eval_samples=5)
    assert loaded_args.max_eval_samples == 5 and loaded_args.num_train == 200
    assert load_translation_task(loaded_args)["test"]["translation"] == dataset["test"]["translation"][:5]
    target = dataset["test"][0]["translation"]["iso"]
    assert loaded_target(text_target=target)["input_ids"] == tokenized["test"][0]["labels"]
    assert loaded_source.get_vocab() == source_tokenizer.get_vocab()


def test_a_folder_without_a_saved_task_gives_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not saved by scripts/train.py"):
        load_task(tmp_path)


def test_config_overrides_parse_values_and_reject_malformed_items():
    assert parse_config_overrides("hidden_size=64, cell_type=lstm,input_feeding=true,dropout=0.1") == {
        "hidden_size": 64, "cell_type": "lstm", "input_feeding": True, "dropout": 0.1}
    with pytest.raises(ValueError, match="not of the form name=value"):
        parse_config_overrides("hidden_size")


def test_separate_vocabularies_size_the_model_to_the_larger_side_and_unshare_embeddings():
    data_args = DataArguments(num_train=200, num_validation=10, num_test=10, joint_vocabulary=False)
    _, source_tokenizer, target_tokenizer, _ = prepare_translation_task(data_args)
    config = build_model_config(ModelArguments(family="transformer", config_overrides="d_model=32"),
                                source_tokenizer, target_tokenizer)
    assert isinstance(config, TransformerSeq2SeqConfig) and config.d_model == 32
    assert config.vocab_size == max(len(source_tokenizer), len(target_tokenizer))
    assert not config.share_encoder_decoder_embeddings
    assert ModelArguments(family="transformer").lr_schedule == "paper"
    assert ModelArguments(family="rnn").lr_schedule == "trainer"


def test_a_missing_local_directory_is_named_instead_of_looked_up_on_the_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="there is no such directory"):
        load_translation_task(DataArguments(dataset=str(tmp_path / "missing")))
