"""Train an attention seq2seq model with Seq2SeqTrainer, pick the best checkpoint by validation BLEU, evaluate it
with generate(), and save model + tokenizer + model card in one folder.

The built-in default trains a small RNN with Bahdanau attention on the package's synthetic dates task (human
dates -> ISO dates); nothing is downloaded:

    python scripts/train.py
    python scripts/train.py --family transformer --preset small --output_dir runs/dates-transformer
    python scripts/train.py --config_overrides "cell_type=lstm,attention_type=general,attention_wiring=luong,input_feeding=true"
    python scripts/train.py --num_train 2000 --num_train_epochs 1 --output_dir /tmp/dates-smoke
    python scripts/train.py --resume_from_checkpoint true   # continue an interrupted run from its last checkpoint
    python scripts/train.py --average_last_k 5   # save the mean of the last 5 checkpoints (Vaswani et al. §6.1)

Multi30k from the raw files (../shared/data/multi30k), with a joint 8k BPE vocabulary, by a named, versioned recipe
(hf_attention_zoo/training/recipe_book.py; flags given here win over the recipe's):

    python scripts/train.py --recipe multi30k-transformer-small --direction de-en --output_dir runs/multi30k-de-en-transformer
    python scripts/train.py --recipe multi30k-transformer-small-30min@v1 --direction de-en   # 30 minutes, validation included
    python scripts/train.py --recipe multi30k-bahdanau-gru --direction en-de --output_dir runs/multi30k-en-de-bahdanau
    python scripts/train.py --recipe multi30k-transformer-small --direction de-en --max_tokens_per_batch 1060   # batches by tokens

or with flags of your own:

    python scripts/train.py --dataset ../shared/data/multi30k --family transformer --preset small \\
        --num_train_epochs 12 --output_dir runs/multi30k-transformer
    python scripts/train.py --dataset bentrevett/multi30k --source_lang en --target_lang de   # a Hub dataset id

Data parallel on several processes (GPUs, or CPU with gloo); the logged loss does not depend on the process count:

    torchrun --nproc_per_node 2 scripts/train.py --per_device_train_batch_size 32
    accelerate launch --multi_gpu --num_processes 2 scripts/train.py --per_device_train_batch_size 32

Every Seq2SeqTrainingArguments option works too (`--label_smoothing_factor 0.1`, `--bf16`, `--use_cpu`, ...); a
flag given here wins over the family's defaults (`training_defaults` in hf_attention_zoo/registry.py). Then:

    python scripts/evaluate_model.py --model runs/dates
    python scripts/translate.py --model runs/dates "Tuesday 9 May 1989"
    python scripts/push_to_hub.py --model runs/dates --repo_id <user>/dates-rnn
"""

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import (
    AutoModelForSeq2SeqLM,
    DataCollatorForSeq2Seq,
    EarlyStoppingCallback,
    HfArgumentParser,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    set_seed,
)

from hf_attention_zoo.training.checkpoint_averaging import AverageCheckpointsCallback
from hf_attention_zoo.training.checkpoints import resolve_resume_checkpoint
from hf_attention_zoo.training.learning_rate_schedule import get_inverse_sqrt_schedule_with_warmup
from hf_attention_zoo.training.model_arguments import ModelArguments, build_model_config
from hf_attention_zoo.training.recipe import family_training_flags, format_seconds, no_accelerator, save_training_card
from hf_attention_zoo.training.recipe_book import DIRECTIONS, get_recipe, recipe_flags
from hf_attention_zoo.training.time_budget import TimeBudgetCallback
from hf_attention_zoo.training.token_batches import TokenBudgetTrainerMixin
from hf_attention_zoo.evaluation.translation_metrics import generation_metrics
from hf_attention_zoo.data.translation_task import (
    DataArguments,
    model_card_fields,
    prepare_translation_task,
    save_task,
)

COMMON_TRAINING_ARGS = [
    "--output_dir", "runs/dates",
    "--per_device_train_batch_size", "64",
    "--per_device_eval_batch_size", "128",
    "--eval_strategy", "epoch",
    "--save_strategy", "epoch",
    "--save_total_limit", "1",
    "--load_best_model_at_end", "true",
    "--metric_for_best_model", "bleu",
    "--logging_steps", "50",
    "--predict_with_generate", "true",
    "--generation_num_beams", "1",
    "--report_to", "none",
    "--ddp_find_unused_parameters", "false",
    "--seed", "0",
]
@dataclass
class RunArguments:
    recipe: str | None = field(default=None, metadata={
        "help": "A named recipe of hf_attention_zoo/training/recipe_book.py, NAME or NAME@vN (default: the newest); "
                "flags given on the command line win over its."})
    direction: str | None = field(default=None, metadata={
        "help": f"With --recipe: the translation direction, one of {', '.join(DIRECTIONS)}."})
    max_train_minutes: float | None = field(default=None, metadata={
        "help": "Stop training before this many minutes of wall time, validation included; the last state is "
                "evaluated and saved, and the best checkpoint is chosen on validation as usual."})
    max_tokens_per_batch: int | None = field(default=None, metadata={
        "help": "Training batches by a token budget (fairseq's --max-tokens): as many examples of similar length as "
                "fit in this many tokens, padding included, per process; replaces --per_device_train_batch_size "
                "and --train_sampling_strategy for training."})
    early_stopping_patience: int = field(
        default=3, metadata={"help": "Stop after this many evaluations without a better validation BLEU (0: never)."}
    )
    num_samples: int = field(default=8, metadata={"help": "Test translations printed at the end."})
    average_last_k: int = field(
        default=0, metadata={"help": "Keep the mean of the last K checkpoints instead of the best one (0: off); "
                                     "implies --load_best_model_at_end false --save_total_limit K+1."}
    )


class ZooTrainer(TokenBudgetTrainerMixin, Seq2SeqTrainer):
    """`Seq2SeqTrainer` that can batch by a token budget (`--max_tokens_per_batch`)."""


class PaperScheduleTrainer(ZooTrainer):
    """`Seq2SeqTrainer` with the learning-rate schedule of Vaswani et al. §5.3 (`--lr_schedule paper`): the rate
    is `--learning_rate` × d_model^-0.5 × min(step^-0.5, step × warmup^-1.5)."""

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.lr_scheduler is None:
            self.lr_scheduler = get_inverse_sqrt_schedule_with_warmup(
                optimizer or self.optimizer, self.model.config.d_model,
                warmup_steps=max(1, self.args.get_warmup_steps(num_training_steps)),
            )
        return self.lr_scheduler


def parse_arguments(argv: list[str]):
    """Parse the command line over the recipe's flags (with --recipe) and the defaults of the chosen family."""
    run = HfArgumentParser(RunArguments).parse_known_args(args=argv)[0]
    if run.direction is not None and run.recipe is None:
        raise ValueError("--direction goes with --recipe; without a recipe give --source_lang and --target_lang.")
    if run.recipe and run.direction is None:
        raise ValueError(f"--recipe {run.recipe} needs --direction, one of {', '.join(DIRECTIONS)}.")
    recipe = recipe_flags(run.recipe, run.direction) if run.recipe else []
    family = HfArgumentParser(ModelArguments).parse_known_args(args=recipe + argv)[0].family
    # Averaging replaces the best checkpoint and needs the last K kept (plus the best one, which Trainer keeps too).
    average_last_k = HfArgumentParser(RunArguments).parse_known_args(args=recipe + argv)[0].average_last_k
    averaging_flags = ["--load_best_model_at_end", "false", "--save_total_limit", str(average_last_k + 1)]
    parser = HfArgumentParser((ModelArguments, DataArguments, RunArguments, Seq2SeqTrainingArguments))
    model_args, data_args, run_args, training_args = parser.parse_args_into_dataclasses(
        args=COMMON_TRAINING_ARGS + family_training_flags(family) + ["--use_cpu", str(no_accelerator())]
        + (averaging_flags if average_last_k else []) + recipe + argv
    )
    if run_args.recipe:
        run_args.recipe = get_recipe(run_args.recipe).id  # the version a bare name resolved to
    if run_args.early_stopping_patience and training_args.eval_strategy == "no":
        raise ValueError(f"--early_stopping_patience {run_args.early_stopping_patience} stops on validation BLEU, but "
                         "--eval_strategy is no: pass --early_stopping_patience 0 as well, or validate with "
                         "--eval_strategy epoch|steps.")
    training_args.generation_max_length = training_args.generation_max_length or data_args.max_target_length
    return model_args, data_args, run_args, training_args


def main(argv: list[str]) -> dict:
    model_args, data_args, run_args, training_args = parse_arguments(argv)
    set_seed(training_args.seed)
    started = time.time()

    dataset, source_tokenizer, target_tokenizer, tokenized = prepare_translation_task(data_args)
    config = build_model_config(model_args, source_tokenizer, target_tokenizer)
    model = AutoModelForSeq2SeqLM.from_config(config)
    model.generation_config.max_length = data_args.max_target_length
    print(f"[train] {type(model).__name__} ({model_args.preset} preset): {model.num_parameters():,} parameters; "
          f"{len(tokenized['train']):,} training pairs of {data_args.description}; vocabulary {config.vocab_size}")

    trainer_class = PaperScheduleTrainer if model_args.lr_schedule == "paper" else ZooTrainer
    callbacks = [EarlyStoppingCallback(run_args.early_stopping_patience)] if run_args.early_stopping_patience else []
    averaging = AverageCheckpointsCallback(run_args.average_last_k) if run_args.average_last_k else None
    callbacks += [averaging] if averaging else []
    budget = TimeBudgetCallback(run_args.max_train_minutes) if run_args.max_train_minutes is not None else None
    callbacks += [budget] if budget else []
    trainer = trainer_class(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        data_collator=DataCollatorForSeq2Seq(source_tokenizer, model=model),
        processing_class=source_tokenizer,
        compute_metrics=generation_metrics(target_tokenizer),
        callbacks=callbacks,
    )
    if run_args.max_tokens_per_batch is not None:
        trainer.max_tokens_per_batch = run_args.max_tokens_per_batch
        batches = trainer.token_batch_sampler()  # made here, so that a budget too small stops before training
        print(f"[train] training batches of at most {run_args.max_tokens_per_batch:,} tokens (padding included) per "
              f"process: {len(batches):,} batches, {len(tokenized['train']) / len(batches):.1f} pairs each on "
              "average; --per_device_train_batch_size and --train_sampling_strategy no longer apply to training")
    # --resume_from_checkpoint true|<folder>: continue a run that was stopped, with its optimizer, schedule, RNG states
    # and data position, from the last checkpoint that was written completely.
    resume = resolve_resume_checkpoint(training_args.resume_from_checkpoint, training_args.output_dir,
                                       "trainer_state.json")
    # Read before training: checkpoint rotation may delete the checkpoint it resumed from.
    resumed_at_epoch = json.loads((resume / "trainer_state.json").read_text())["epoch"] if resume else 0.0
    train_result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if budget and budget.stopped_at_step is not None:
        print(f"[train] the {run_args.max_train_minutes:g}-minute budget stopped training after update "
              f"{budget.stopped_at_step}")
    # Target tokens (</s> included) of the updates made in this call: the training split's, times the epochs run (a
    # fraction when stopped early; those after the checkpoint when resumed); over this call's wall time, validation
    # included.
    epochs = train_result.metrics.get("epoch", 0)
    target_tokens = sum(len(labels) for labels in tokenized["train"]["labels"]) * (epochs - resumed_at_epoch)
    training_seconds = train_result.metrics["train_runtime"]
    # The best checkpoint is loaded back (load_best_model_at_end), or the average replaced it; these are its scores.
    if averaging:
        print(f"[train] averaged {', '.join(folder.name for folder in averaging.averaged_checkpoints)}")
    results = {"validation": trainer.evaluate(metric_key_prefix="validation")}
    if "test" in tokenized:
        results["test"] = trainer.evaluate(tokenized["test"], metric_key_prefix="test")
    names = {"bleu": "sacrebleu", "chrf": "chrf", "exact_match": "exact_match"}  # the metric ids of model cards
    results = {split: {names[name]: metrics[f"{split}_{name}"] for name in names} for split, metrics in results.items()}
    seconds = time.time() - started

    output_dir = Path(training_args.output_dir).resolve()
    trainer.save_model(str(output_dir))
    if trainer.is_world_process_zero():
        save_task(output_dir, data_args, source_tokenizer, target_tokenizer)
        save_training_card(
            output_dir, model, "train.py", argv, model_card_fields(data_args), seconds=seconds,
            processes=training_args.world_size, rows={
                **({"recipe": run_args.recipe} if run_args.recipe else {}),
                "training pairs": len(tokenized["train"]),
                "epochs": round(train_result.metrics.get("epoch", 0), 2),
                "optimizer updates": trainer.state.global_step,
                "global batch size": (f"at most {run_args.max_tokens_per_batch:,} tokens per process (padding "
                                      f"included) × {training_args.world_size * training_args.gradient_accumulation_steps}"
                                      if run_args.max_tokens_per_batch else
                                      training_args.per_device_train_batch_size * training_args.world_size
                                      * training_args.gradient_accumulation_steps),
                "learning-rate schedule": (f"Vaswani et al. §5.3, {training_args.warmup_steps} warm-up steps, "
                                           f"×{training_args.learning_rate}" if model_args.lr_schedule == "paper"
                                           else f"{training_args.lr_scheduler_type.value}, peak "
                                           f"{training_args.learning_rate}"),
                "label smoothing": training_args.label_smoothing_factor,
                "training time": f"{format_seconds(training_seconds)} (validation included)"
                + (f", budget {run_args.max_train_minutes:g} min" if budget else "")
                + (f"; this call only, resumed from {resume.name} (epoch {resumed_at_epoch:.2f})" if resume else ""),
                "training throughput": f"{target_tokens / training_seconds:,.0f} target tokens/s (validation "
                                       "included)",
                "sampling": ("token budget, batches of similar length in shuffled order"
                             if run_args.max_tokens_per_batch else training_args.train_sampling_strategy),
                "precision": "bf16 autocast" if training_args.bf16 else "fp32",
                "validation decoding": f"beam {training_args.generation_num_beams}"
                if (training_args.generation_num_beams or 1) > 1 else "greedy",
                **({"checkpoint averaging": f"mean of {', '.join(f.name for f in averaging.averaged_checkpoints)}"}
                   if averaging else
                   {"best checkpoint": f"highest validation BLEU ({trainer.state.best_model_checkpoint})"}),
            },
            results=results,
        )
        print_samples(model, dataset, data_args, source_tokenizer, target_tokenizer, run_args.num_samples)

    summary = {
        "model": type(model).__name__, "preset": model_args.preset, "recipe": run_args.recipe,
        "parameters": model.num_parameters(), "training_seconds": round(training_seconds, 1),
        "target_tokens_per_second": round(target_tokens / training_seconds, 1),
        "resumed_from": str(resume) if resume else None, "resumed_at_epoch": resumed_at_epoch,
        "data": data_args.description, "epochs": train_result.metrics.get("epoch"),
        "steps": trainer.state.global_step, "train_loss": train_result.training_loss,
        "log_history": trainer.state.log_history, "results": results, "seconds": round(seconds, 1),
        "processes": training_args.world_size, "output_dir": str(output_dir),
    }
    if trainer.is_world_process_zero():
        (output_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print_summary(summary)
    return summary


def print_samples(model, dataset, data_args, source_tokenizer, target_tokenizer, count: int) -> None:
    if count <= 0:
        return
    split = "test" if "test" in dataset else "validation"
    samples = dataset[split].select(range(min(count, len(dataset[split]))))["translation"]
    sources = [pair[data_args.source_lang] for pair in samples]
    batch = source_tokenizer(sources, return_tensors="pt", padding=True).to(model.device)
    hypotheses = target_tokenizer.batch_decode(model.generate(**batch), skip_special_tokens=True)
    print(f"\n[train] sample translations ({split} split, the model's generation config):")
    for source, pair, hypothesis in zip(sources, samples, hypotheses):
        mark = "ok " if hypothesis == pair[data_args.target_lang] else "   "
        print(f"  {mark} {source!r} -> {hypothesis!r} (reference {pair[data_args.target_lang]!r})")


def print_summary(summary: dict) -> None:
    lines = [
        f"model        {summary['model']} ({summary['preset']} preset, {summary['parameters']:,} parameters)",
        f"data         {summary['data']}",
        f"training     {summary['epochs']:.2f} epochs, {summary['steps']} updates, final mean loss "
        f"{summary['train_loss']:.3f}, {format_seconds(summary['seconds'])} in all",
        f"throughput   {summary['target_tokens_per_second']:,.0f} target tokens/s over "
        f"{format_seconds(summary['training_seconds'])} of training (validation included)",
    ]
    for split, metrics in summary["results"].items():
        scores = "  ".join(f"{name} {value:.3f}" if name == "exact_match" else f"{name} {value:.2f}"
                           for name, value in metrics.items())
        lines.append(f"{split:<12} {scores}")
    folder = summary["output_dir"]
    lines += [f"saved to     {folder} (model, tokenizer, model card README.md, zoo_task.json, train_summary.json)",
              f"next         python scripts/evaluate_model.py --model {folder}",
              f"             python scripts/translate.py --model {folder} \"...\""]
    print("\n[train] summary\n  " + "\n  ".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
