"""Tests of hf_attention_zoo.data.subword_tokenizer: special token ids, </s> on every sequence, exact round trips,
save → reload without the package, and datasets ready for DataCollatorForSeq2Seq."""

import json
from pathlib import Path

import pytest
from transformers import DataCollatorForSeq2Seq

from hf_attention_zoo.data.parallel_text import load_parallel_files, translation_dataset
from hf_attention_zoo.data.subword_tokenizer import (
    BOS_TOKEN_ID,
    EOS_TOKEN_ID,
    PAD_TOKEN_ID,
    TARGET_TOKENIZER_SUBFOLDER,
    UNK_TOKEN_ID,
    load_tokenizers,
    save_tokenizers,
    tokenize_translation_dataset,
    train_tokenizer,
)
from hf_attention_zoo.data.synthetic_dates import make_dates_dataset
from support.fresh_process import run_offline, without_package

MULTI30K_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "multi30k"

EN = ["A dog runs in the park.", "Two dogs run in the park.", "A man reads a book.", "The  man  (old) reads!"]
DE = ["Ein Hund rennt im Park.", "Zwei Hunde rennen im Park.", "Ein Mann liest ein Buch.", "Der  Mann  (alt) liest!"]


@pytest.fixture(scope="module")
def tiny_corpus():
    from datasets import DatasetDict

    return DatasetDict({"train": translation_dataset(EN * 5, DE * 5, "en", "de"),
                        "validation": translation_dataset(EN[:2], DE[:2], "en", "de")})


@pytest.fixture(scope="module")
def dates():
    return make_dates_dataset(num_train=500, num_validation=50, num_test=50, seed=0)


@pytest.fixture(scope="module")
def multi30k_val():
    if not (MULTI30K_DIR / "val.en.gz").is_file():
        pytest.skip(f"Multi30k is not at {MULTI30K_DIR} (the shared data folder next to the repository)")
    return load_parallel_files(MULTI30K_DIR, "en", "de", splits={"train": "val"})


@pytest.mark.parametrize("model", ["bpe", "char"])
def test_special_tokens_have_ids_bos0_pad1_eos2_unk3(tiny_corpus, model):
    options = {"vocab_size": 100} if model == "bpe" else {}
    tokenizer = train_tokenizer(tiny_corpus, ["en", "de"], model=model, **options)
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (
        BOS_TOKEN_ID, PAD_TOKEN_ID, EOS_TOKEN_ID, UNK_TOKEN_ID) == (0, 1, 2, 3)
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3]) == ["<s>", "<pad>", "</s>", "<unk>"]


@pytest.mark.parametrize("model", ["bpe", "char"])
def test_every_sequence_ends_with_eos_and_nothing_is_prepended(tiny_corpus, model):
    tokenizer = train_tokenizer(tiny_corpus, ["en", "de"], model=model)
    encoded = tokenizer(EN, text_target=DE)
    for ids in encoded["input_ids"] + encoded["labels"]:
        assert ids[-1] == EOS_TOKEN_ID
        assert EOS_TOKEN_ID not in ids[:-1] and BOS_TOKEN_ID not in ids


def test_bpe_decode_gives_back_every_multi30k_sentence(multi30k_val):
    tokenizer = train_tokenizer(multi30k_val, ["en", "de"], vocab_size=2_000)
    assert len(tokenizer) == 2_000
    sentences = [pair[lang] for pair in multi30k_val["train"]["translation"] for lang in ("en", "de")]
    encoded = tokenizer(sentences)["input_ids"]
    assert UNK_TOKEN_ID not in {token for ids in encoded for token in ids}
    assert tokenizer.batch_decode(encoded, skip_special_tokens=True) == sentences
    assert max(map(len, encoded)) < max(len(sentence) for sentence in sentences) / 2  # merges were learned


def test_char_tokenizer_has_one_token_per_character_and_round_trips_dates(dates):
    tokenizer = train_tokenizer(dates, ["human", "iso"], model="char", model_max_length=64)
    assert len(tokenizer) < 80
    pairs = dates["test"]["translation"]
    for text in [pair["human"] for pair in pairs] + [pair["iso"] for pair in pairs] + ["  9  may 89 "]:
        ids = tokenizer(text)["input_ids"]
        assert len(ids) == len(text) + 1
        assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert tokenizer.model_max_length == 64


def test_unseen_characters_become_unk(dates):
    tokenizer = train_tokenizer(dates, ["iso"], model="char")
    assert tokenizer("1989-05-09 Z")["input_ids"][-3:] == [tokenizer.convert_tokens_to_ids("▁"), UNK_TOKEN_ID, 2]


def test_same_corpus_trains_the_same_tokenizer(tiny_corpus):
    first = train_tokenizer(tiny_corpus, ["en", "de"], vocab_size=120)
    again = train_tokenizer(tiny_corpus, ["en", "de"], vocab_size=120)
    assert first.backend_tokenizer.to_str() == again.backend_tokenizer.to_str()


def test_joint_tokenizer_supports_the_plain_text_target_call(tiny_corpus):
    tokenizer = train_tokenizer(tiny_corpus, ["en", "de"], vocab_size=120)
    encoded = tokenizer(EN, text_target=DE)
    assert encoded["labels"] == tokenizer(DE)["input_ids"]
    assert encoded["input_ids"] == tokenizer(EN)["input_ids"]


def test_separate_vocabularies_learn_only_their_language(tiny_corpus):
    source = train_tokenizer(tiny_corpus, "en", model="char")
    target = train_tokenizer(tiny_corpus, "de", model="char")
    assert "o" in source.get_vocab() and "o" not in target.get_vocab()  # "dog", "book"; no "o" in DE
    assert "Z" in target.get_vocab() and "Z" not in source.get_vocab()  # "Zwei"; no "Z" in EN


def test_option_errors_name_the_fix(tiny_corpus):
    with pytest.raises(ValueError, match="Did you mean 'bpe'"):
        train_tokenizer(tiny_corpus, ["en"], model="bep")
    with pytest.raises(ValueError, match=r"split 'train' has languages \['en', 'de'\]"):
        train_tokenizer(tiny_corpus, ["en", "fr"])
    with pytest.raises(ValueError, match="only apply to model='bpe'"):
        train_tokenizer(tiny_corpus, ["en"], model="char", vocab_size=100)
    with pytest.raises(ValueError, match=r"no split 'test'; its splits are \['train', 'validation'\]"):
        train_tokenizer(tiny_corpus, ["en"], split="test")


_RELOAD_SCRIPT = without_package(
    """
    import json
    import sys
    try:
        import hf_attention_zoo  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the package is importable: this test would prove nothing")
    from transformers import AutoTokenizer

    joint_folder, separate_folder, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    joint = AutoTokenizer.from_pretrained(joint_folder)
    source = AutoTokenizer.from_pretrained(separate_folder)
    target = AutoTokenizer.from_pretrained(separate_folder, subfolder="target_tokenizer")
    out = {}
    for name, tokenizer in (("joint", joint), ("source", source), ("target", target)):
        ids = tokenizer(texts)["input_ids"]
        out[name] = {
            "ids": ids,
            "decoded": tokenizer.batch_decode(ids, skip_special_tokens=True),
            "special": [tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id,
                        tokenizer.unk_token_id],
            "model_max_length": tokenizer.model_max_length,
        }
    out["labels"] = joint(texts, text_target=texts)["labels"]
    out["zoo_modules"] = sorted(m for m in sys.modules if m.startswith("hf_attention_zoo"))
    print(json.dumps(out))
    """
)


def test_saved_tokenizers_reload_with_autotokenizer_in_a_process_without_the_package(tiny_corpus, tmp_path):
    joint = train_tokenizer(tiny_corpus, ["en", "de"], vocab_size=120, model_max_length=100)
    source = train_tokenizer(tiny_corpus, "en", vocab_size=80, model_max_length=100)
    target = train_tokenizer(tiny_corpus, "de", model="char", model_max_length=100)
    joint.save_pretrained(tmp_path / "joint")
    save_tokenizers(tmp_path / "separate", source, target)
    assert (tmp_path / "separate" / TARGET_TOKENIZER_SUBFOLDER / "tokenizer.json").is_file()

    texts = EN + DE
    done = run_offline(_RELOAD_SCRIPT, tmp_path / "joint", tmp_path / "separate", json.dumps(texts), home=tmp_path)
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child["zoo_modules"] == []
    for name, tokenizer in (("joint", joint), ("source", source), ("target", target)):
        ids = tokenizer(texts)["input_ids"]
        assert child[name]["ids"] == ids, name
        assert child[name]["decoded"] == tokenizer.batch_decode(ids, skip_special_tokens=True), name
        assert child[name]["special"] == [0, 1, 2, 3], name
        assert child[name]["model_max_length"] == 100, name
    assert child["labels"] == joint(texts)["input_ids"]
    assert child["joint"]["decoded"] == texts  # every character of texts was in the training text


def test_load_tokenizers_returns_the_target_tokenizer_or_the_joint_one_twice(tiny_corpus, tmp_path):
    source = train_tokenizer(tiny_corpus, "en", model="char")
    target = train_tokenizer(tiny_corpus, "de", model="char")
    save_tokenizers(tmp_path / "separate", source, target)
    loaded_source, loaded_target = load_tokenizers(tmp_path / "separate")
    assert loaded_source.get_vocab() == source.get_vocab()
    assert loaded_target.get_vocab() == target.get_vocab()
    save_tokenizers(tmp_path / "joint", source)
    loaded_source, loaded_target = load_tokenizers(tmp_path / "joint")
    assert loaded_source is loaded_target


def test_tokenized_dataset_has_seq2seq_columns_and_collates_with_minus_100_labels(dates):
    tokenizer = train_tokenizer(dates, ["human", "iso"], model="char")
    tokenized = tokenize_translation_dataset(dates, tokenizer, "human", "iso", 64, 16)
    assert list(tokenized) == ["train", "validation", "test"]
    row, pair = tokenized["test"][0], dates["test"][0]["translation"]
    assert tokenized["test"].column_names == ["input_ids", "attention_mask", "labels"]
    assert row["input_ids"] == tokenizer(pair["human"])["input_ids"]
    assert row["labels"] == tokenizer(pair["iso"])["input_ids"]
    assert len(row["labels"]) == len("1989-05-09") + 1

    batch = DataCollatorForSeq2Seq(tokenizer)([tokenized["test"][i] for i in range(4)])
    lengths = [len(tokenized["test"][i]["input_ids"]) for i in range(4)]
    assert batch["input_ids"].shape == (4, max(lengths))
    assert (batch["input_ids"] == PAD_TOKEN_ID).sum().item() == sum(max(lengths) - n for n in lengths)
    assert (batch["attention_mask"].sum(-1).tolist()) == lengths
    assert batch["labels"].shape == (4, 11) and (batch["labels"] != -100).all()


def test_too_long_sentences_are_truncated_and_keep_eos(tiny_corpus):
    tokenizer = train_tokenizer(tiny_corpus, ["en", "de"], model="char")
    tokenized = tokenize_translation_dataset(tiny_corpus, tokenizer, "en", "de", 6, 4)["train"]
    for row in tokenized:
        assert len(row["input_ids"]) == 6 and len(row["attention_mask"]) == 6 and len(row["labels"]) == 4
        assert row["input_ids"][-1] == EOS_TOKEN_ID and row["labels"][-1] == EOS_TOKEN_ID
    assert tokenizer.decode(tokenized[0]["input_ids"], skip_special_tokens=True) == EN[0][:5]


def test_separate_target_tokenizer_encodes_the_labels(tiny_corpus):
    source = train_tokenizer(tiny_corpus, "en", model="char")
    target = train_tokenizer(tiny_corpus, "de", vocab_size=60)
    tokenized = tokenize_translation_dataset(tiny_corpus, source, "en", "de", 64, 64, target_tokenizer=target)
    row = tokenized["validation"][1]
    assert row["input_ids"] == source(EN[1])["input_ids"]
    assert row["labels"] == target(DE[1])["input_ids"]
    assert target.decode(row["labels"], skip_special_tokens=True) == DE[1]


def test_tokenizing_with_a_language_not_in_the_data_lists_those_found(tiny_corpus):
    tokenizer = train_tokenizer(tiny_corpus, ["en", "de"], model="char")
    with pytest.raises(ValueError, match=r"has languages \['en', 'de'\]; pass src_lang/tgt_lang from those"):
        tokenize_translation_dataset(tiny_corpus, tokenizer, "en", "fr", 64, 64)
