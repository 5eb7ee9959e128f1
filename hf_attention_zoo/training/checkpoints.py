"""Resuming an interrupted training run: find the last checkpoint that was written completely.

Both training scripts write `checkpoint-<step>` folders into their output directory and write one file last, when
everything else of the checkpoint is on disk: Trainer's `trainer_state.json`, the Accelerate loop's
`loop_state.json`. A run killed while saving leaves a folder without that file; it is skipped, so
`--resume_from_checkpoint true` never resumes from half a checkpoint.
"""

import re
from pathlib import Path

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def last_complete_checkpoint(output_dir: str | Path, marker: str) -> Path | None:
    """The `checkpoint-<step>` folder of `output_dir` with the highest step that holds `marker`, or None."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    complete = [(int(match.group(1)), path) for path in folder.iterdir()
                if (match := _CHECKPOINT.match(path.name)) and (path / marker).is_file()]
    return max(complete)[1] if complete else None


def resolve_resume_checkpoint(resume_from_checkpoint: str | None, output_dir: str | Path, marker: str) -> Path | None:
    """`--resume_from_checkpoint` as a folder: None stays None; "true" (or "last") is the last complete checkpoint of
    `output_dir`; anything else is a checkpoint folder, which must exist and hold `marker`."""
    if resume_from_checkpoint is None or resume_from_checkpoint.lower() in ("false", "no", ""):
        return None
    if resume_from_checkpoint.lower() in ("true", "last"):
        checkpoint = last_complete_checkpoint(output_dir, marker)
        if checkpoint is None:
            raise FileNotFoundError(
                f"--resume_from_checkpoint {resume_from_checkpoint}: {output_dir} holds no complete checkpoint-<step> "
                f"folder (one with {marker}). Train without it first, with checkpoints saved (--save_steps / "
                "--checkpointing_steps), or name a checkpoint folder."
            )
        return checkpoint
    checkpoint = Path(resume_from_checkpoint)
    if not (checkpoint / marker).is_file():
        raise FileNotFoundError(
            f"--resume_from_checkpoint {resume_from_checkpoint}: not a complete checkpoint folder (no {marker} in it). "
            "Name a checkpoint-<step> folder of an earlier run, or pass true for the last one in --output_dir."
        )
    return checkpoint
