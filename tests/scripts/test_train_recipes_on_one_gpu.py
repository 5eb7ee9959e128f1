"""scripts/train_recipes_on_one_gpu.sh, the command behind the README's H200 rows: it trains recipes side by side,
averages the runs that kept their checkpoints, scores every candidate, and picks each run's model on validation only.
Run here on CPU, on a slice of Multi30k with a tiny model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "train_recipes_on_one_gpu.sh"
MULTI30K_DIR = REPO.parent / "shared" / "data" / "multi30k"


def run_script(args, cwd, **env):
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", **env})


def test_bad_arguments_say_what_is_expected(tmp_path):
    result = run_script(["5"], tmp_path)
    assert result.returncode == 2 and "usage: bash scripts/train_recipes_on_one_gpu.sh MINUTES" in result.stderr
    result = run_script(["5", "multi30k-bahdanau-gru"], tmp_path)
    assert result.returncode == 2 and "'multi30k-bahdanau-gru' is not RECIPE:DIRECTION" in result.stderr
    assert not (tmp_path / "runs" / "logs" / "multi30k-bahdanau-gru.log").exists()  # nothing was started


def test_a_recipe_is_trained_averaged_scored_and_chosen_on_validation(tmp_path):
    if not (MULTI30K_DIR / "train.de.gz").is_file():
        pytest.skip(f"Multi30k is not at {MULTI30K_DIR} (the shared data folder next to the repository)")
    train_flags = (f"--dataset {MULTI30K_DIR} --max_train_samples 256 --max_eval_samples 8 --vocab_size 500 "
                   "--max_steps 10 --save_steps 2 --eval_steps 2 --per_device_train_batch_size 16 --num_samples 0 "
                   "--max_target_length 16 --config_overrides d_model=32,encoder_ffn_dim=32,decoder_ffn_dim=32")
    result = run_script(["30", "multi30k-transformer-small:de-en"], tmp_path, TRAIN_FLAGS=train_flags,
                        EVAL_FLAGS="--max_eval_samples 8", EVAL_SPLITS="validation test")
    assert result.returncode == 0, result.stdout + result.stderr
    run = tmp_path / "runs" / "multi30k-transformer-small-de-en"
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["recipe"] == "multi30k-transformer-small@v3" and summary["steps"] == 10
    # the recipe keeps every checkpoint, so both averages were made from 5 of them
    for average in ("avg5-around-best", "avg5"):
        record = json.loads((tmp_path / "runs" / f"{run.name}-{average}" / "checkpoint_averaging.json").read_text())
        assert len(record["averaged_checkpoints"]) == 5
    choice = json.loads((tmp_path / "runs" / "logs" / "choice.json").read_text())[run.name]
    candidates = choice["candidates"]
    assert set(candidates) == {f"runs/{run.name}", f"runs/{run.name}-avg5-around-best", f"runs/{run.name}-avg5"}
    assert all(set(scores) == {"validation", "test"} for scores in candidates.values())
    best = max(scores["validation"]["sacrebleu"] for scores in candidates.values())
    assert candidates[choice["chosen_on_validation"]]["validation"]["sacrebleu"] == best
    # every score is the one evaluate_model.py wrote next to the model
    for folder, scores in candidates.items():
        report = json.loads((tmp_path / folder / "eval_test.json").read_text())
        assert report["decoding"]["num_beams"] == 5 and report["results"] == scores["test"]
    assert f"* runs/{run.name}" in result.stdout or f"* runs/{run.name}-avg5" in result.stdout
