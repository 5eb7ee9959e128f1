"""Train an attention seq2seq model with a plain Accelerate loop (no Trainer), for users who want their own loop:
the same data, tokenizer, model and saved folder as scripts/train.py, in code you can read and change.

    python scripts/train_no_trainer.py
    python scripts/train_no_trainer.py --family transformer --preset small --output_dir runs/dates-transformer-loop
    python scripts/train_no_trainer.py --dataset ../shared/data/multi30k --family transformer --num_train_epochs 12

Data parallel (GPUs, or CPU processes over gloo); the loss is averaged over every target token of the global batch,
so it does not depend on the number of processes:

    accelerate launch --multi_gpu --num_processes 2 scripts/train_no_trainer.py --per_device_train_batch_size 32
    torchrun --nproc_per_node 2 scripts/train_no_trainer.py --per_device_train_batch_size 32
    accelerate launch --mixed_precision bf16 scripts/train_no_trainer.py --family transformer

Checkpoints every N updates (model, optimizer, schedule, RNG states, data position and the loop's own state), and
resuming an interrupted run from the last complete one, with the same losses and weights as a run never stopped:

    python scripts/train_no_trainer.py --checkpointing_steps 200
    python scripts/train_no_trainer.py --checkpointing_steps 200 --resume_from_checkpoint true
"""

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import AutoModelForSeq2SeqLM, DataCollatorForSeq2Seq, HfArgumentParser, get_scheduler

from hf_attention_zoo.training.checkpoints import resolve_resume_checkpoint
from hf_attention_zoo.training.learning_rate_schedule import get_inverse_sqrt_schedule_with_warmup
from hf_attention_zoo.training.model_arguments import ModelArguments, build_model_config
from hf_attention_zoo.training.recipe import cpu_processes, family_training_default, save_training_card
from hf_attention_zoo.evaluation.translation_metrics import corpus_scores
from hf_attention_zoo.data.translation_task import (
    DataArguments,
    model_card_fields,
    prepare_translation_task,
    save_task,
)


@dataclass
class LoopArguments:
    output_dir: str = field(default="runs/dates-loop", metadata={"help": "Where the best model is saved."})
    num_train_epochs: int = field(default=3, metadata={"help": "Passes over the training data."})
    max_train_steps: int | None = field(default=None, metadata={"help": "Stop after this many updates."})
    per_device_train_batch_size: int = field(default=64, metadata={"help": "Sentence pairs per process and step."})
    per_device_eval_batch_size: int = field(default=128, metadata={"help": "Sentence pairs per process when decoding."})
    learning_rate: float | None = field(
        default=None, metadata={"help": "Peak rate, or with --lr_schedule paper the factor on §5.3's rates (default: "
                                        "the family's, in hf_attention_zoo/registry.py)."}
    )
    warmup_steps: int | None = field(default=None, metadata={"help": "Warm-up updates (default: the family's)."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    label_smoothing: float | None = field(default=None, metadata={"help": "ε_ls (default: the family's; 0.1 for the "
                                                                          "Transformer, §5.4)."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm (0: none)."})
    num_beams: int = field(default=1, metadata={"help": "Beams when decoding the validation split."})
    early_stopping_patience: int = field(default=3, metadata={"help": "Epochs without a better BLEU before stopping."})
    logging_steps: int = field(default=50, metadata={"help": "Updates between loss log lines."})
    seed: int = field(default=0, metadata={"help": "Seed of initialisation, shuffling and dropout."})
    checkpointing_steps: int | None = field(
        default=None, metadata={"help": "Save a resumable checkpoint-<step> folder every N updates."}
    )
    resume_from_checkpoint: str | None = field(
        default=None, metadata={"help": "Resume from a checkpoint folder, or 'true' for the last one in --output_dir."}
    )

# Written last into every checkpoint folder: the loop's own state. A folder without it is incomplete.
LOOP_STATE = "loop_state.json"


def decode_split(accelerator, model, loader, target_tokenizer, num_beams: int, max_length: int) -> list[str]:
    """Translate every batch of `loader` on every process and gather the texts in dataset order."""
    model.eval()
    hypotheses = []
    for batch in loader:
        with torch.no_grad():
            generated = accelerator.unwrap_model(model).generate(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], num_beams=num_beams,
                max_length=max_length,
            )
        generated = accelerator.pad_across_processes(generated, dim=1, pad_index=target_tokenizer.pad_token_id)
        hypotheses += target_tokenizer.batch_decode(accelerator.gather_for_metrics(generated),
                                                    skip_special_tokens=True)
    model.train()
    return hypotheses


def save_checkpoint(accelerator: Accelerator, folder: Path, loop_state: dict) -> None:
    """Model, optimizer, schedule and RNG states (accelerate's `save_state`), then the loop's own state, last."""
    accelerator.save_state(str(folder))
    if accelerator.is_main_process:
        (folder / LOOP_STATE).write_text(json.dumps(loop_state) + "\n")
    accelerator.wait_for_everyone()


def main(argv: list[str]) -> dict:
    parser = HfArgumentParser((ModelArguments, DataArguments, LoopArguments))
    model_args, data_args, args = parser.parse_args_into_dataclasses(args=argv)
    paper_schedule = model_args.lr_schedule == "paper"
    family = model_args.family
    learning_rate = family_training_default(family, "learning_rate", args.learning_rate)
    warmup_steps = family_training_default(family, "warmup_steps", args.warmup_steps)
    label_smoothing = family_training_default(family, "label_smoothing_factor", args.label_smoothing)
    betas = (0.9, family_training_default(family, "adam_beta2"))
    eps = family_training_default(family, "adam_epsilon")
    # The seedable sampler shuffles epoch e with seed + e, so a resumed run sees the batches an unstopped one sees.
    accelerator = Accelerator(cpu=cpu_processes(), dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True))
    set_seed(args.seed)
    started = time.time()

    dataset, source_tokenizer, target_tokenizer, tokenized = prepare_translation_task(data_args)
    model = AutoModelForSeq2SeqLM.from_config(build_model_config(model_args, source_tokenizer, target_tokenizer))
    model.generation_config.max_length = data_args.max_target_length
    collator = DataCollatorForSeq2Seq(source_tokenizer, model=model)
    train_loader = DataLoader(tokenized["train"], shuffle=True, collate_fn=collator,
                              batch_size=args.per_device_train_batch_size,
                              generator=torch.Generator().manual_seed(args.seed))
    eval_loader = DataLoader(tokenized["validation"].remove_columns("labels"), collate_fn=collator,
                             batch_size=args.per_device_eval_batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=betas, eps=eps,
                                  weight_decay=args.weight_decay)
    # Updates per epoch after sharding: every process takes its own batches of the global batch.
    steps_per_epoch = math.ceil(len(train_loader) / accelerator.num_processes)
    max_steps = args.max_train_steps or args.num_train_epochs * steps_per_epoch
    if paper_schedule:
        scheduler = get_inverse_sqrt_schedule_with_warmup(optimizer, model.config.d_model, warmup_steps)
    else:
        scheduler = get_scheduler("linear", optimizer, num_warmup_steps=warmup_steps, num_training_steps=max_steps)
    model, optimizer, train_loader, eval_loader = accelerator.prepare(model, optimizer, train_loader, eval_loader)
    accelerator.register_for_checkpointing(scheduler)  # saved and restored with the model and optimizer

    references = [pair[data_args.target_lang] for pair in dataset["validation"]["translation"]]
    output_dir = Path(args.output_dir).resolve()
    loop = {"epoch": 0, "batches_done": 0, "step": 0, "losses": [], "history": [], "best_bleu": -1.0,
            "best_scores": None, "stale_epochs": 0}
    resume = resolve_resume_checkpoint(args.resume_from_checkpoint, output_dir, LOOP_STATE)
    if resume is not None:
        accelerator.load_state(str(resume))
        loop = json.loads((resume / LOOP_STATE).read_text())
        accelerator.print(f"[train_no_trainer] resumed from {resume} (update {loop['step']})")
    step, losses, history = loop["step"], loop["losses"], loop["history"]
    best_bleu, best_scores, stale_epochs = loop["best_bleu"], loop["best_scores"], loop["stale_epochs"]
    progress = tqdm(total=max_steps, initial=step, disable=not accelerator.is_local_main_process, desc="training")
    model.train()
    for epoch in range(loop["epoch"], math.ceil(max_steps / steps_per_epoch)):
        train_loader.set_epoch(epoch)
        batches_done = loop["batches_done"] if epoch == loop["epoch"] else 0
        batches = accelerator.skip_first_batches(train_loader, batches_done) if batches_done else train_loader
        for batch in batches:
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           decoder_input_ids=batch["decoder_input_ids"]).logits
            # Normalise by the label tokens of the GLOBAL batch; DDP averages gradients over processes, so scale
            # back up by their number: the update is then that of one process seeing the whole global batch.
            global_tokens = accelerator.reduce(batch["labels"].ne(-100).sum(), reduction="sum")
            loss = accelerator.unwrap_model(model).token_cross_entropy(
                logits, batch["labels"], global_tokens / accelerator.num_processes, label_smoothing)
            accelerator.backward(loss)
            if args.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            batches_done += 1
            losses.append((accelerator.reduce(loss.detach(), reduction="sum") / accelerator.num_processes).item())
            progress.update(1)
            if step % args.logging_steps == 0 or step == max_steps:
                history.append({"step": step, "loss": sum(losses) / len(losses), "lr": scheduler.get_last_lr()[0]})
                accelerator.print(f"[train_no_trainer] step {step}: loss {history[-1]['loss']:.4f}")
                losses = []
            if args.checkpointing_steps and step % args.checkpointing_steps == 0:
                save_checkpoint(accelerator, output_dir / f"checkpoint-{step}", {
                    "epoch": epoch, "batches_done": batches_done, "step": step, "losses": losses, "history": history,
                    "best_bleu": best_bleu, "best_scores": best_scores, "stale_epochs": stale_epochs})
            if step == max_steps:
                break

        hypotheses = decode_split(accelerator, model, eval_loader, target_tokenizer, args.num_beams,
                                  data_args.max_target_length)
        scores = corpus_scores(hypotheses, references)
        history.append({"epoch": epoch + 1, "step": step, "validation_bleu": scores["sacrebleu"],
                        "validation_chrf": scores["chrf"]})
        accelerator.print(f"[train_no_trainer] epoch {epoch + 1}: validation BLEU {scores['sacrebleu']:.2f} "
                          f"chrF {scores['chrf']:.2f}")
        if scores["sacrebleu"] > best_bleu:
            best_bleu, best_scores, stale_epochs = scores["sacrebleu"], scores, 0
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                accelerator.unwrap_model(model).save_pretrained(output_dir)
        else:
            stale_epochs += 1
        if step == max_steps or stale_epochs >= args.early_stopping_patience:
            break
    progress.close()

    seconds = time.time() - started
    summary = {"processes": accelerator.num_processes, "steps": step, "log_history": history,
               "validation": {"bleu": best_scores["sacrebleu"], "chrf": best_scores["chrf"]},
               "seconds": round(seconds, 1), "output_dir": str(output_dir)}
    if accelerator.is_main_process:
        save_task(output_dir, data_args, source_tokenizer, target_tokenizer)
        save_training_card(
            output_dir, accelerator.unwrap_model(model), "train_no_trainer.py", argv, model_card_fields(data_args),
            seconds=seconds, processes=accelerator.num_processes,
            rows={"training pairs": len(tokenized["train"]), "optimizer updates": step,
                  "global batch size": args.per_device_train_batch_size * accelerator.num_processes,
                  "label smoothing": label_smoothing,
                  "validation decoding": "greedy" if args.num_beams == 1 else f"beam {args.num_beams}"},
            results={"validation": {"sacrebleu": best_scores["sacrebleu"], "chrf": best_scores["chrf"]}},
            signatures={name: best_scores["signatures"][name] for name in ("sacrebleu", "chrf")},
        )
        (output_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        accelerator.print(f"[train_no_trainer] best validation BLEU {best_bleu:.2f}; saved to {output_dir} "
                          f"({seconds:.0f} s)")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
