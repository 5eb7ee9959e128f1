"""Tests of scripts/translate.py: translations from arguments, a file and stdin equal model.generate() decoded
with the right tokenizer (the target one with separate vocabularies), blank lines stay blank, bad input fails
clearly, and the script runs as a program, with the package's classes or with the model's saved code."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from support import rnn_fixtures
from support import transformer_fixtures
from support.scripts import load_script
from hf_attention_zoo.data import subword_tokenizer
from hf_attention_zoo.data.subword_tokenizer import save_tokenizers, train_tokenizer
from hf_attention_zoo.data.synthetic_dates import make_dates_dataset
from support.fresh_process import RUN_SCRIPT_WITHOUT_PACKAGE

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "translate.py"
SOURCES = ["Tuesday 9 May 1989", "9/5/89", "the 7th of June 2029", "Sept 26, 2041"]
MAX_NEW_TOKENS = 6  # saved in each model's generation_config: keeps every test fast
FIXTURES = {"rnn": rnn_fixtures, "transformer": transformer_fixtures}


translate_script = load_script("translate")


@pytest.fixture(scope="module")
def dates():
    return make_dates_dataset(200, 20, 20, seed=0)


def _save(folder: Path, family: str, source_tokenizer, target_tokenizer=None, seed: int = 1):
    """Save a tiny model of `family` sized for both tokenizers (each side its own), and the tokenizers, in `folder`."""
    sizes = dict(vocab_size=len(source_tokenizer), decoder_vocab_size=len(target_tokenizer or source_tokenizer))
    if target_tokenizer is not None and family == "transformer":
        sizes["share_encoder_decoder_embeddings"] = False
    # The seeds used give each test sentence a different translation (others give one output for all), so a
    # translation returned in the wrong order would show.
    model = FIXTURES[family].tiny_model(seed=seed, **sizes)
    model.generation_config.max_new_tokens = MAX_NEW_TOKENS
    model.save_pretrained(folder)
    save_tokenizers(folder, source_tokenizer, target_tokenizer)
    return model


@pytest.fixture(scope="module", params=["rnn", "transformer"])
def saved(request, tmp_path_factory, dates):
    """(folder, model, tokenizer) of a tiny model with a joint character vocabulary."""
    tokenizer = train_tokenizer(dates, ["human", "iso"], model="char")
    folder = tmp_path_factory.mktemp(f"{request.param}-joint")
    return folder, _save(folder, request.param, tokenizer), tokenizer


def _expected(model, source_tokenizer, texts, target_tokenizer=None, **generate_kwargs) -> list[str]:
    batch = source_tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        generated = model.generate(**batch, **generate_kwargs)
    return (target_tokenizer or source_tokenizer).batch_decode(generated, skip_special_tokens=True)


def test_translations_of_arguments_equal_generate_then_decode(saved, capsys):
    folder, model, tokenizer = saved
    translations = translate_script.main(["--model", str(folder), *SOURCES])
    assert translations == _expected(model, tokenizer, SOURCES)
    assert len(set(translations)) == len(SOURCES)  # the order is checked too
    assert capsys.readouterr().out.splitlines() == translations


def test_beam_size_and_batches_of_two_give_the_same_as_one_generate_call(saved):
    folder, model, tokenizer = saved
    translations = translate_script.main(
        ["--model", str(folder), "--num_beams", "3", "--max_new_tokens", "4", "--batch_size", "2", *SOURCES]
    )
    assert translations == _expected(model, tokenizer, SOURCES, num_beams=3, max_new_tokens=4)


def test_input_file_gives_one_output_line_per_line_and_blank_lines_stay_blank(saved, tmp_path, capsys):
    folder, model, tokenizer = saved
    input_file, output_file = tmp_path / "test.human", tmp_path / "test.hyp"
    input_file.write_text(f"{SOURCES[0]}\n\n{SOURCES[1]}\n   \n{SOURCES[2]}\n", encoding="utf-8")
    translations = translate_script.main(
        ["--model", str(folder), "--input_file", str(input_file), "--output_file", str(output_file)]
    )
    first, second, third = _expected(model, tokenizer, SOURCES[:3])
    assert translations == [first, "", second, "", third]
    assert output_file.read_text(encoding="utf-8") == f"{first}\n\n{second}\n\n{third}\n"
    assert capsys.readouterr().out == ""  # the translations went to the file only


def test_stdin_is_read_when_there_is_neither_text_nor_file(saved):
    folder, model, tokenizer = saved
    translations = translate_script.main(["--model", str(folder)], stdin=io.StringIO("\n".join(SOURCES) + "\n"))
    assert translations == _expected(model, tokenizer, SOURCES)


@pytest.mark.parametrize("saved", ["rnn"], indirect=True)
@pytest.mark.parametrize(("stdin", "expected"), [("", []), ("\n  \n", ["", ""])], ids=["empty", "blank-lines"])
def test_input_without_text_translates_to_as_many_empty_lines(saved, stdin, expected, capsys):
    assert translate_script.main(["--model", str(saved[0])], stdin=io.StringIO(stdin)) == expected
    assert capsys.readouterr().out == "\n" * len(expected)


@pytest.fixture(scope="module")
def separate_vocabularies(tmp_path_factory, dates):
    """(folder, model, source_tokenizer, target_tokenizer) of an iso -> human model with separate vocabularies:
    vocab_size is the source tokenizer's size and decoder_vocab_size the target's."""
    source_tokenizer = train_tokenizer(dates, "iso", model="char")
    target_tokenizer = train_tokenizer(dates, "human", model="char")
    folder = tmp_path_factory.mktemp("separate")
    return folder, _save(folder, "rnn", source_tokenizer, target_tokenizer, seed=6), source_tokenizer, target_tokenizer


def test_separate_vocabularies_decode_with_the_target_tokenizer(separate_vocabularies):
    folder, model, source_tokenizer, target_tokenizer = separate_vocabularies
    assert (folder / subword_tokenizer.TARGET_TOKENIZER_SUBFOLDER).is_dir()
    sources = ["1989-05-09", "2041-09-26", "1950-01-01"]
    translations = translate_script.main(["--model", str(folder), *sources])
    assert translations == _expected(model, source_tokenizer, sources, target_tokenizer)
    assert len(set(translations)) == len(sources)
    assert translations != _expected(model, source_tokenizer, sources)  # the source vocabulary reads other text


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        translate_script.main(["--model", str(tmp_path / "not-there"), "9 May 1989"])


def test_folder_without_a_saved_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        translate_script.main(["--model", str(tmp_path), "9 May 1989"])


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (["--input_file", "in.txt", "9 May 1989"], ValueError, "pass one or the other"),
        (["--input_file", "no-such-file.txt"], FileNotFoundError, "no-such-file.txt: no such file"),
        (["--batch_size", "0", "9 May 1989"], ValueError, "--batch_size must be at least 1, got 0"),
        (["--nmu_beams", "4", "9 May 1989"], ValueError, "not used by the HfArgumentParser: \\[.--nmu_beams.\\]"),
    ],
    ids=["text-and-file", "missing-input-file", "zero-batch-size", "misspelled-option"],
)
@pytest.mark.parametrize("saved", ["rnn"], indirect=True)
def test_bad_input_is_a_clear_error(saved, arguments, error, message):
    folder = saved[0]
    with pytest.raises(error, match=message):
        translate_script.main(["--model", str(folder), *arguments])


@pytest.mark.parametrize("saved", ["rnn"], indirect=True)  # one family: a fresh interpreter takes seconds
def test_script_runs_as_a_program(saved):
    folder, model, tokenizer = saved
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", str(folder), SOURCES[0]], cwd=REPO, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == _expected(model, tokenizer, SOURCES[:1])


def _run_without_the_package(arguments: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the script offline where the package cannot be imported, with a modules cache of its own."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "hf_modules"))
    return subprocess.run([sys.executable, "-c", RUN_SCRIPT_WITHOUT_PACKAGE, str(SCRIPT), *arguments], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_trust_remote_code_runs_the_saved_code_without_the_package(separate_vocabularies, tmp_path):
    folder, model, source_tokenizer, target_tokenizer = separate_vocabularies
    done = _run_without_the_package(["--model", str(folder), "--trust_remote_code", "true", "1989-05-09"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == _expected(model, source_tokenizer, ["1989-05-09"], target_tokenizer)
    assert any((tmp_path / "hf_modules" / "transformers_modules").rglob("modeling_rnn_seq2seq.py"))

    without_flag = _run_without_the_package(["--model", str(folder), "1989-05-09"], tmp_path)
    assert without_flag.returncode == 1
    assert "pass --trust_remote_code true" in without_flag.stderr and "Traceback" not in without_flag.stderr
