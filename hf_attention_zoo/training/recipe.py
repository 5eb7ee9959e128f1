"""What the two training scripts (scripts/train.py with Seq2SeqTrainer, scripts/train_no_trainer.py with a plain
Accelerate loop) share: the family's defaults, the processes they run on, and the model card they write."""

import os
import platform
from pathlib import Path

import torch

from ..hub.model_card import save_model_card
from ..registry import get_family


def family_training_flags(family_name: str) -> list[str]:
    """The family's training defaults (`ModelFamily.training_defaults`) as command-line flags of
    `Seq2SeqTrainingArguments`, to put before the user's own (a later flag wins)."""
    flags = []
    for name, value in get_family(family_name).training_defaults.items():
        flags += [f"--{name}", str(value)]
    return flags


def family_training_default(family_name: str, name: str, given=None):
    """`given` when the user set it (not None), else the family's default for the `Seq2SeqTrainingArguments` field
    `name`."""
    return given if given is not None else get_family(family_name).training_defaults[name]


def cpu_processes() -> bool:
    """Several processes and no GPU (torchrun or `accelerate launch --multi_gpu` on a CPU machine): accelerate sets
    up gloo data parallel only when told to run on the CPU (Trainer's `use_cpu`, `Accelerator(cpu=True)`)."""
    return not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1


def no_accelerator() -> bool:
    """No GPU torch can use (CUDA, MPS or XPU): train.py then asks Trainer for the CPU outright (`use_cpu`), which
    bf16 autocast on a CPU needs and which changes nothing else there."""
    xpu = getattr(torch, "xpu", None)
    return not (torch.cuda.is_available() or torch.backends.mps.is_available()
                or (xpu is not None and xpu.is_available()))


def format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def describe_machine() -> str:
    """The hardware a run trained on, for its model card: the GPU torch uses, else the CPU's model name, its logical
    cores and torch's thread count."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} visible), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def save_training_card(output_dir: Path, model, script: str, argv: list[str], card_fields: dict, rows: dict,
                       seconds: float, processes: int, **card_kwargs) -> None:
    """The model card of a training run: the command, the training table (`rows`, then the processes, the machine and
    the wall time, which every run reports) and the results."""
    save_model_card(
        output_dir, config=model.config, repo_id=str(output_dir), num_parameters=model.num_parameters(),
        **card_fields, command=f"python scripts/{script} " + " ".join(argv),
        training={**rows, "processes": processes, "machine": describe_machine(), "wall time": format_seconds(seconds)},
        **card_kwargs,
    )
