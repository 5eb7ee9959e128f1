"""Checkpoint averaging: the element-wise mean of the weights of several checkpoints of one run, written as a model
folder (`average_checkpoints`, scripts/average_checkpoints.py) or loaded in place when `Trainer.train()` ends
(`AverageCheckpointsCallback`, `scripts/train.py --average_last_k K`).

Vaswani et al., "Attention Is All You Need" (arXiv:1706.03762), §6.1: "For the base models, we used a single model
obtained by averaging the last 5 checkpoints, which were written at 10-minute intervals. For the big models, we
averaged the last 20 checkpoints." The reference implementation is fairseq's scripts/average_checkpoints.py.
"""

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from transformers import AutoModelForSeq2SeqLM, TrainerCallback
from transformers.utils import SAFE_WEIGHTS_NAME

from ..data.subword_tokenizer import TARGET_TOKENIZER_SUBFOLDER, load_tokenizers, save_tokenizers
from ..data.translation_task import TASK_FILE
from ..hub.model_card import INPUTS_FILE, save_model_card
from .checkpoints import _CHECKPOINT  # the `checkpoint-<step>` folder names both training scripts write

logger = logging.getLogger(__name__)

# Written into the averaged folder: which checkpoints went into it and where its tokenizer came from.
RECORD_FILE = "checkpoint_averaging.json"
# Besides the weights, config, generation config and model code (save_pretrained) and the tokenizer(s): the files
# of a model folder that describe the averaged model just as well as its inputs. Not copied, because they describe
# another model: scores (eval_*.json, train_summary.json), the model card as it is (it is re-rendered instead, see
# `average_checkpoints`) and a checkpoint's optimizer, schedule and trainer states.
COPIED_FILES = (TASK_FILE,)
# config.json fields that differ between checkpoints of one run without changing the model.
_CONFIG_BOOKKEEPING = {"_name_or_path", "transformers_version", "architectures", "auto_map", "custom_pipelines",
                       "dtype", "torch_dtype"}


def find_last_checkpoints(run_dir: str | Path, k: int, *, max_step: int | None = None) -> list[Path]:
    """The last `k` `checkpoint-<step>` folders of `run_dir`, oldest first.

    Folders are ordered by their step number (checkpoint-10 comes after checkpoint-9); a folder without
    `model.safetensors` (a checkpoint still being written, or cut off) is skipped, as are folders past `max_step`
    (left in `run_dir` by an earlier, longer run).

    Raises:
        FileNotFoundError: `run_dir` is not a folder, or it holds fewer than `k` complete checkpoints.
    """
    return [path for _, path in _complete_checkpoints(run_dir, k, max_step)[-k:]]


def _complete_checkpoints(run_dir: str | Path, k: int, max_step: int | None = None) -> list[tuple[int, Path]]:
    """(step, folder) of every `checkpoint-<step>` folder of `run_dir` with weights, ordered by step, none past
    `max_step`; at least `k` of them, or FileNotFoundError (see `find_last_checkpoints`)."""
    if k < 1:
        raise ValueError(f"k={k}: ask for at least one checkpoint.")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a folder; pass the --output_dir of a training run.")
    steps = sorted(
        (int(match.group(1)), path) for path in run_dir.iterdir()
        if (match := _CHECKPOINT.match(path.name)) and (path / SAFE_WEIGHTS_NAME).is_file()
        and (max_step is None or int(match.group(1)) <= max_step)
    )
    if len(steps) < k:
        found = ", ".join(path.name for _, path in steps) or "none"
        raise FileNotFoundError(
            f"{run_dir} holds {len(steps)} checkpoint-<step> folder(s) with {SAFE_WEIGHTS_NAME} ({found}); {k} were "
            f"asked for. Average fewer, or train with more checkpoints kept (--save_steps, --save_total_limit)."
        )
    return steps


def find_checkpoints_around_best(run_dir: str | Path, k: int) -> list[Path]:
    """The `k` `checkpoint-<step>` folders of `run_dir` centred on the run's best checkpoint, oldest first.

    The best checkpoint is the one Trainer chose on validation (`best_model_checkpoint` in the last checkpoint's
    trainer_state.json, matched by folder name, so a moved run still works). The window holds (k - 1) // 2
    checkpoints before it and the rest after it; at either end of the run it slides inward, so it always holds k
    folders. A run whose validation peaks early and then slides (overfitting) averages around its peak this way, where
    the last k would average the slide.

    Raises:
        FileNotFoundError: `run_dir` holds fewer than `k` complete checkpoints, or its last checkpoint has no
            trainer_state.json.
        ValueError: the run recorded no best checkpoint (trained without validation), or that checkpoint was deleted.
    """
    steps, checkpoints = zip(*_complete_checkpoints(run_dir, k))
    state_path = checkpoints[-1] / "trainer_state.json"
    if not state_path.is_file():
        raise FileNotFoundError(f"{state_path} is missing: the best checkpoint is read from the last checkpoint's "
                                "Trainer state. Name the folders with --checkpoints instead.")
    state = json.loads(state_path.read_text())
    best = state.get("best_model_checkpoint")
    if not best:
        raise ValueError(f"{state_path} records no best checkpoint (the run did not validate with "
                         "--metric_for_best_model): average the last checkpoints (--last) or name them (--checkpoints).")
    names = [path.name for path in checkpoints]
    if Path(best).name not in names:
        raise ValueError(f"The run's best checkpoint, {Path(best).name}, is not among the complete checkpoints of "
                         f"{run_dir} ({', '.join(names)}): it was deleted (train with --save_total_limit 0 to keep every "
                         "checkpoint), or name the folders with --checkpoints.")
    start = min(max(names.index(Path(best).name) - (k - 1) // 2, 0), len(checkpoints) - k)
    window = list(checkpoints[start:start + k])
    # Trainer's rotation (--save_total_limit) deletes old checkpoints but keeps the best: the window then jumps over
    # the deleted ones, and says so.
    window_steps = steps[start:start + k]
    interval, deleted = _save_interval(steps, state), []
    if interval:
        # every multiple of the interval inside the window was saved; a run also saves off the interval where it
        # ends or where a time budget stopped it before being resumed, and those add checkpoints, never remove any
        deleted = [step for step in range((window_steps[0] // interval + 1) * interval, window_steps[-1], interval)
                   if step not in steps]
    if deleted:
        logger.warning("The checkpoints around the best (%s) are not %d updates apart, as the run saved them: some were "
                       "deleted (--save_total_limit), e.g. checkpoint-%d. Train with --save_total_limit 0 to keep every "
                       "checkpoint, or name the folders with --checkpoints.", ", ".join(path.name for path in window),
                       interval, deleted[0])
    return window


def _save_interval(steps: Sequence[int], state: dict) -> int | None:
    """The run's save interval in updates, or None where it saved by epoch (or the interval cannot be told).

    Trainer records `save_steps` in its state whatever the save strategy; it is the interval when at least two
    checkpoints lie on it. A state without it (older Trainers) falls back to the smallest step between checkpoints,
    the last pair left out (a run also saves where it ends, off the interval).
    """
    recorded = state.get("save_steps")
    if isinstance(recorded, int) and recorded > 0:
        return recorded if sum(step % recorded == 0 for step in steps) >= 2 else None
    return min((b - a for a, b in zip(steps[:-1], steps[1:-1])), default=None)


def _model_type(folder: Path) -> tuple[str | None, dict]:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{folder} has no config.json: pass model folders or checkpoint-<step> folders of a run.")
    config = json.loads(config_path.read_text())
    return config.get("model_type"), config


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    path = folder / SAFE_WEIGHTS_NAME
    if not path.is_file():
        sharded = any(folder.glob("*.index.json"))
        sharded = " (it is sharded: re-save it with a larger max_shard_size)" if sharded else ""
        raise ValueError(
            f"{folder} has no {SAFE_WEIGHTS_NAME}{sharded}. Only safetensors weights are averaged: re-save the model "
            "with save_pretrained, or leave this folder out."
        )
    try:
        return load_file(path)
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} cannot be read ({error}); if it is half-written, leave this folder out.") from error


def mean_checkpoint_weights(folders: Sequence[str | Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the `model.safetensors` tensors of `folders`, name by name.

    Sums are accumulated in float64, far more precise than the stored float32 / bfloat16 values, and the mean is
    cast back to each tensor's dtype in the first folder. A tensor transformers ties to another
    (the shared embeddings and output projection of the Transformer) is stored once per file by `save_pretrained`,
    so it is averaged once; integer tensors are not averaged and must be equal in every folder.

    Raises:
        ValueError: fewer than 2 folders, a folder listed twice, a folder without config.json or model.safetensors,
            or folders whose `model_type`, tensor names, shapes or integer tensors differ.
    """
    folders = [Path(folder) for folder in folders]
    if len(folders) < 2:
        raise ValueError(f"Averaging needs at least 2 checkpoints; got {[str(f) for f in folders]}.")
    seen: dict[Path, Path] = {}
    for folder in folders:
        if folder.resolve() in seen:
            raise ValueError(f"{folder} is listed twice; it would weigh double in the mean. List each folder once.")
        seen[folder.resolve()] = folder

    first, (first_type, first_config) = folders[0], _model_type(folders[0])
    reference = _read_weights(first)
    sums = {name: tensor.double() for name, tensor in reference.items() if tensor.is_floating_point()}
    for folder in folders[1:]:
        model_type, config = _model_type(folder)
        if model_type != first_type:
            raise ValueError(
                f"{folder} holds a {model_type!r} model, {first} a {first_type!r} one: average checkpoints of one "
                "model family (and one configuration) only."
            )
        differing = sorted(key for key in (set(config) | set(first_config)) - _CONFIG_BOOKKEEPING
                           if config.get(key) != first_config.get(key))
        if differing:
            logger.warning("%s and %s have different configs (%s); the averaged model takes the config of %s.",
                           first, folder, ", ".join(differing), first)
        weights = _read_weights(folder)
        if set(weights) != set(reference):
            only_here, only_first = sorted(set(weights) - set(reference)), sorted(set(reference) - set(weights))
            raise ValueError(
                f"{folder} and {first} hold different tensors (only in {folder.name}: {only_here[:5]}, only in "
                f"{first.name}: {only_first[:5]}): they are different architectures. Average checkpoints of one run."
            )
        for name, tensor in weights.items():
            if tensor.shape != reference[name].shape:
                raise ValueError(
                    f"{name} has shape {tuple(tensor.shape)} in {folder} but {tuple(reference[name].shape)} in "
                    f"{first}: the models have different sizes. Average checkpoints of one run."
                )
            if name in sums:
                sums[name] += tensor.double()
            elif not torch.equal(tensor, reference[name]):
                raise ValueError(
                    f"The integer tensor {name} differs between {folder} and {first}; integers are not averaged."
                )
    return {name: (sums[name] / len(folders)).to(tensor.dtype) if name in sums else tensor
            for name, tensor in reference.items()}


@torch.no_grad()
def load_weights_in_place(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Copy `weights` (a state dict as stored in model.safetensors) into `model`'s own tensors.

    The copy goes into the existing storage, so tied weights stay one tensor: a name `save_pretrained` left out of
    the file because it is tied to a stored one (e.g. `lm_head.weight` of the Transformer) receives the stored
    tensor's mean through the tie.

    Raises:
        ValueError: `weights` has names the model lacks, or the model has an untied tensor `weights` lacks.
    """
    state = model.state_dict()
    unexpected = sorted(set(weights) - set(state))
    stored = {state[name].data_ptr() for name in weights if name in state}
    untied_missing = sorted(name for name in state if name not in weights and state[name].data_ptr() not in stored)
    if unexpected or untied_missing:  # checked first, so that a misfit leaves the model as it was
        raise ValueError(
            f"The averaged weights do not fit {type(model).__name__}: names it does not have {unexpected[:5]}, "
            f"tensors of the model missing from them {untied_missing[:5]}. Average checkpoints of this model's run."
        )
    model.load_state_dict(weights, strict=False)


def _has_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer_config.json").is_file()


def _companion_folders(first: Path) -> list[Path]:
    """Where to look for the tokenizer(s) and task file of the averaged checkpoints, best first.

    Trainer saves in a `checkpoint-<step>` folder only its `processing_class` (scripts/train.py passes the source
    tokenizer), so with separate vocabularies a checkpoint lacks the target tokenizer; scripts/train.py saves the
    complete set (target_tokenizer/, zoo_task.json) into the run folder around the checkpoints. So for a
    checkpoint the run folder comes first, then the checkpoint itself.
    """
    return [first.parent, first] if _CHECKPOINT.match(first.name) else [first]


def _check_one_tokenizer(folders: list[Path]) -> None:
    """Checkpoints trained with different vocabularies of the same size would average without complaint and give
    nonsense: refuse them when their saved tokenizers differ."""
    saved = [(folder, (folder / "tokenizer.json").read_bytes()) for folder in folders
             if (folder / "tokenizer.json").is_file()]
    for folder, content in saved[1:]:
        if content != saved[0][1]:
            raise ValueError(
                f"{folder} and {saved[0][0]} hold different tokenizers (tokenizer.json): their token ids mean "
                "different things, so their weights cannot be averaged. Average checkpoints of one run."
            )


def average_checkpoints(folders: Sequence[str | Path], output_dir: str | Path) -> Path:
    """Write the checkpoint average of `folders` (Vaswani et al. §6.1) as a model folder `output_dir`.

    The mean weights (`mean_checkpoint_weights`) are loaded into the model of the first folder
    (`AutoModelForSeq2SeqLM.from_pretrained`, so ties and its generation config are kept) and saved with
    `save_pretrained`: model.safetensors, config.json, generation_config.json and the model code for remote-code
    loading. The tokenizer(s) and zoo_task.json come from the first folder, or, for a Trainer `checkpoint-<step>`
    folder, from the run folder around it when that has them (see `_companion_folders`). When no tokenizer is
    found none is written, and a warning and `checkpoint_averaging.json` say so. That file also lists the averaged
    folders. The scores of the inputs are not copied (they describe other weights); when the run folder has a model card
(`model_card_inputs.json`), it is re-rendered for the average, without the old results and with the averaged
checkpoints in its training table, so that scripts/evaluate_model.py and scripts/push_to_hub.py work on the output.

    Args:
        folders: model folders or checkpoint folders of one run (at least 2), e.g. `find_last_checkpoints(run, 5)`.
        output_dir: a new (or empty) folder.

    Returns:
        `output_dir` as a `Path`.
    """
    folders, output_dir = [Path(folder) for folder in folders], Path(output_dir)
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise ValueError(f"{output_dir} exists and is not an empty folder; choose a new --output_dir or empty it.")
    if output_dir.resolve() in {folder.resolve() for folder in folders}:
        raise ValueError(f"{output_dir} is one of the averaged folders; write the average somewhere else.")
    weights = mean_checkpoint_weights(folders)

    companions = _companion_folders(folders[0])
    tokenizer_folder = next((folder for folder in companions if _has_tokenizer(folder)), None)
    _check_one_tokenizer(folders + ([tokenizer_folder] if tokenizer_folder else []))

    model = AutoModelForSeq2SeqLM.from_pretrained(folders[0])
    load_weights_in_place(model, weights)
    model.save_pretrained(output_dir)

    if tokenizer_folder is None:
        logger.warning("No tokenizer in %s: %s holds the averaged model without one; copy it in with "
                       "save_tokenizers(...) before translating with it.",
                       " or ".join(map(str, companions)), output_dir)
    else:
        source_tokenizer, target_tokenizer = load_tokenizers(tokenizer_folder)
        joint = target_tokenizer is source_tokenizer  # load_tokenizers returns one object twice for a joint vocabulary
        save_tokenizers(output_dir, source_tokenizer, None if joint else target_tokenizer)
        if _CHECKPOINT.match(tokenizer_folder.name) and not (tokenizer_folder / TARGET_TOKENIZER_SUBFOLDER).is_dir():
            logger.warning("The tokenizer comes from %s, a Trainer checkpoint: with separate vocabularies it is the "
                           "source tokenizer only; copy the run's %s/ into %s.", tokenizer_folder,
                           TARGET_TOKENIZER_SUBFOLDER, output_dir)
    copied = []
    for name in COPIED_FILES:
        source = next((folder / name for folder in companions if (folder / name).is_file()), None)
        if source is not None:
            shutil.copy(source, output_dir / name)
            copied.append(str(source))
    record = {"averaged_checkpoints": [str(folder) for folder in folders],
              "tokenizer_from": str(tokenizer_folder) if tokenizer_folder else None, "copied_files": copied}
    card_inputs = next((folder / INPUTS_FILE for folder in companions if (folder / INPUTS_FILE).is_file()), None)
    if card_inputs is not None:
        # The run's card, re-rendered for these weights: its results described other weights, so they are dropped
        # (scripts/evaluate_model.py adds the averaged model's own), and the training table says what was averaged.
        inputs = json.loads(card_inputs.read_text())
        training = {name: value for name, value in (inputs.get("training") or {}).items()
                    if name != "best checkpoint"}  # the average replaces the best checkpoint
        inputs.update(results={}, signatures={}, training={
            **training, "checkpoint averaging": "mean of " + ", ".join(folder.name for folder in folders),
        })
        save_model_card(output_dir, config=model.config, num_parameters=model.num_parameters(),
                        **{key: value for key, value in inputs.items() if key != "num_parameters"})
        record["model_card_from"] = str(card_inputs)
    (output_dir / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")
    logger.info("Averaged %d checkpoints (%s) into %s.", len(folders), ", ".join(map(str, folders)), output_dir)
    return output_dir


class AverageCheckpointsCallback(TrainerCallback):
    """At the end of `Trainer.train()`, replace the model's weights with the mean of the last `last_k` checkpoints
    of `args.output_dir` (Vaswani et al. §6.1), in place, so that evaluation and `trainer.save_model()` that follow
    use the averaged model. The averaged folders are in `averaged_checkpoints` afterwards (and logged).

    Only saved checkpoints are averaged: updates after the last save are not in the mean (a warning says so), so
    let `save_steps` divide the number of updates. The last `last_k` checkpoints must survive checkpoint rotation:
    `save_total_limit` unset (or 0), or at least `last_k`, plus 1 when `metric_for_best_model` is set (Trainer then
    also keeps the best checkpoint, which may be an older one).

    `load_best_model_at_end=True` is refused (in `on_train_begin`, before any training): Trainer loads the best
    checkpoint back just before `on_train_end`, and the average would then silently replace it, so one of the two
    requests would be ignored. Choose one: the best checkpoint by a validation metric, or the average of the last
    ones. Parameters sharded over processes (FSDP, DeepSpeed) are refused too: average afterwards with
    scripts/average_checkpoints.py. With data parallelism every process reads the checkpoints after a barrier and
    loads the same mean.

    Args:
        last_k: the number of checkpoints to average, at least 2 (Vaswani et al.: 5 for base, 20 for big).
    """

    def __init__(self, last_k: int):
        if not isinstance(last_k, int) or last_k < 2:
            raise ValueError(f"last_k={last_k!r}: averaging needs at least 2 checkpoints (the paper uses 5 or 20).")
        self.last_k = last_k
        self.averaged_checkpoints: list[Path] = []

    def on_train_begin(self, args, state, control, **kwargs):
        problems = []
        if args.load_best_model_at_end:
            problems.append("load_best_model_at_end=True would have its best checkpoint replaced by the average: "
                            "pass --load_best_model_at_end false")
        if args.save_strategy == "no":
            problems.append("save_strategy='no' writes no checkpoints: save with --save_strategy steps (or epoch)")
        needed = self.last_k + (1 if args.metric_for_best_model is not None else 0)
        if args.save_total_limit is not None and 0 < args.save_total_limit < needed:
            problems.append(f"save_total_limit={args.save_total_limit} keeps too few checkpoints: pass "
                            f"--save_total_limit {needed} (or 0 for all)")
        if args.fsdp or args.deepspeed:
            problems.append("FSDP / DeepSpeed shard the parameters, which are then not averaged in place: run "
                            "scripts/average_checkpoints.py after training")
        if problems:
            raise ValueError(f"AverageCheckpointsCallback(last_k={self.last_k}): " + "; ".join(problems) + ".")

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("AverageCheckpointsCallback needs the model; Trainer passes it to on_train_end.")
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()  # the main process has written its last checkpoint
        folders = find_last_checkpoints(args.output_dir, self.last_k, max_step=state.global_step)
        if not folders[-1].name.endswith(f"-{state.global_step}"):
            logger.warning("The last checkpoint is %s but training ended at step %d: the updates after it are not "
                           "in the average.", folders[-1].name, state.global_step)
        load_weights_in_place(model, mean_checkpoint_weights(folders))
        self.averaged_checkpoints = folders
        logger.info("Loaded the mean of %d checkpoints into the model: %s", len(folders),
                    ", ".join(folder.name for folder in folders))
