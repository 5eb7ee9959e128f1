"""An interrupted training run loses nothing: both training scripts, killed (SIGKILL) between checkpoints and resumed
with `--resume_from_checkpoint true`, give the loss of every update and the final weights of a run never stopped."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
MODEL = "embedding_size=32,hidden_size=64,encoder_hidden_size=32,attention_hidden_size=32,dropout=0.3"
DATA = ["--num_train", "960", "--num_validation", "16", "--num_test", "16", "--per_device_train_batch_size", "32",
        "--logging_steps", "1", "--warmup_steps", "5"]
# case: (script, its arguments, the file written last into a complete checkpoint)
TRAINER_ARGS = ["--config_overrides", MODEL, *DATA, "--max_steps", "50", "--save_strategy", "steps", "--save_steps", "10",
                "--save_total_limit", "10", "--eval_strategy", "no", "--load_best_model_at_end", "false",
                "--early_stopping_patience", "0", "--num_samples", "0"]
SCRIPTS = {
    "train.py": ("train.py", TRAINER_ARGS, "trainer_state.json"),
    # token-budget batches: the resumed epoch must skip the batches it had seen, in the order of that epoch
    "train.py --max_tokens_per_batch": ("train.py", [*TRAINER_ARGS, "--max_tokens_per_batch", "300"],
                                        "trainer_state.json"),
    "train_no_trainer.py": ("train_no_trainer.py", ["--config_overrides", MODEL, *DATA, "--max_train_steps", "50",
                                                    "--checkpointing_steps", "10"], "loop_state.json"),
}


def command(case: str, output_dir: Path, *extra: str) -> list[str]:
    script, arguments, _ = SCRIPTS[case]
    return [sys.executable, str(REPO / "scripts" / script), *arguments, "--output_dir", str(output_dir), *extra]


def environment(tmp_path: Path) -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", HF_HOME=str(tmp_path / "hf_home"), TOKENIZERS_PARALLELISM="false")


def run(args: list[str], tmp_path: Path) -> dict:
    done = subprocess.run(args, cwd=tmp_path, env=environment(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args[1]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return json.loads((Path(args[args.index("--output_dir") + 1]) / "train_summary.json").read_text())


def kill_after_first_checkpoint(args: list[str], marker: str, output_dir: Path, tmp_path: Path) -> list[str]:
    """Start the run, SIGKILL it as soon as checkpoint-10 is complete, and return the checkpoints it left."""
    process = subprocess.Popen(args, cwd=tmp_path, env=environment(tmp_path), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (output_dir / "checkpoint-10" / marker).exists():
        assert process.poll() is None, f"the run ended before its first checkpoint:\n{process.stderr.read()[-4000:]}"
        assert time.time() < deadline, "no checkpoint-10 after 300 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (output_dir / "train_summary.json").exists(), "the run finished before it could be killed"
    return sorted(path.name for path in output_dir.glob("checkpoint-*") if (path / marker).exists())


def update_losses(summary: dict) -> dict[int, float]:
    return {entry["step"]: entry["loss"] for entry in summary["log_history"] if "loss" in entry}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_killed_and_resumed_run_equals_an_uninterrupted_one(script, tmp_path):
    marker = SCRIPTS[script][2]
    uninterrupted = run(command(script, tmp_path / "uninterrupted"), tmp_path)

    interrupted_dir = tmp_path / "interrupted"
    left = kill_after_first_checkpoint(command(script, interrupted_dir), marker, interrupted_dir, tmp_path)
    assert left and "checkpoint-50" not in left  # killed between checkpoints, before the end
    resumed = run(command(script, interrupted_dir, "--resume_from_checkpoint", "true"), tmp_path)

    expected = update_losses(uninterrupted)
    assert sorted(expected) == list(range(1, 51))
    assert update_losses(resumed) == pytest.approx(expected, rel=1e-5)
    final = load_file(tmp_path / "uninterrupted" / "model.safetensors")
    restored = load_file(interrupted_dir / "model.safetensors")
    assert final.keys() == restored.keys()
    for name in final:
        torch.testing.assert_close(restored[name], final[name], rtol=1e-5, atol=1e-6, msg=name)
    if script.startswith("train.py"):  # throughput counts the updates of this call only
        assert resumed["resumed_at_epoch"] > 0 and uninterrupted["resumed_at_epoch"] == 0


def test_resuming_without_a_checkpoint_names_the_folder_and_the_fix(tmp_path):
    done = subprocess.run(command("train_no_trainer.py", tmp_path / "empty", "--resume_from_checkpoint", "true"),
                          cwd=tmp_path, env=environment(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "holds no complete checkpoint-<step> folder (one with loop_state.json)" in done.stderr


def test_a_resumed_run_finishes_when_rotation_deletes_the_checkpoint_it_resumed_from(tmp_path):
    # --save_total_limit 1 deletes checkpoint-10 once checkpoint-20 is written; the run must still end with its model,
    # card and summary, and count the throughput of the updates it made.
    train = load_script("train")
    arguments = ["--output_dir", str(tmp_path), "--config_overrides", MODEL, *DATA, "--save_strategy", "steps",
                 "--save_steps", "10", "--save_total_limit", "1", "--eval_strategy", "no", "--load_best_model_at_end",
                 "false", "--early_stopping_patience", "0", "--num_samples", "0"]
    train.main([*arguments, "--max_steps", "10"])
    summary = train.main([*arguments, "--max_steps", "20", "--resume_from_checkpoint", "true"])
    assert not (tmp_path / "checkpoint-10").exists() and (tmp_path / "checkpoint-20").exists()
    assert summary["steps"] == 20 and summary["resumed_from"].endswith("checkpoint-10")
    assert 0 < summary["resumed_at_epoch"] < summary["epochs"] and summary["target_tokens_per_second"] > 0
    assert "resumed from checkpoint-10" in (tmp_path / "README.md").read_text()
