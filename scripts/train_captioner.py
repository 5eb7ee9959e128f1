"""Train Show, Attend and Tell (Xu et al. 2015, arXiv:1502.03044) on the package's synthetic shapes task, and beside it
the same captioner without attention; evaluate both on the two held-out test splits (colour-shape pairs never seen in
training, and object-relation-object triples never seen in training), draw the attention of the captions generate() wrote, and save each model with its processor and card.
Nothing is downloaded:

    python scripts/train_captioner.py                                      # both models, side by side
    python scripts/train_captioner.py --baseline false --num_train_epochs 2 --output_dir /tmp/shapes-smoke
    python scripts/train_captioner.py --config_overrides feature_self_attention=true --output_dir runs/shapes-sagan
    python scripts/train_captioner.py --config_overrides doubly_stochastic_weight=0 --output_dir runs/shapes-no-ds

Every Seq2SeqTrainingArguments option works too (`--learning_rate`, `--bf16`, ...); a flag given here wins over the
family's defaults (`training_defaults` in hf_attention_zoo/registry.py). The results land in
<output_dir>/results.md and results.json; the attention model in <output_dir>, the baseline in
<output_dir>/baseline, the overlays in <output_dir>/attention/. Then:

    python scripts/push_to_hub.py --model runs/shapes --repo_id <user>/shapes-show-attend-tell
"""

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import (
    AutoModelForImageTextToText,
    EvalPrediction,
    HfArgumentParser,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    set_seed,
)

from hf_attention_zoo.data.captioning import CaptioningCollator, build_caption_processor
from hf_attention_zoo.data.synthetic_shapes import (
    HELD_OUT_COMBINATIONS,
    HELD_OUT_RELATIONS,
    make_shapes_dataset,
    train_caption_tokenizer,
)
from hf_attention_zoo.evaluation.caption_attention_plots import plot_caption_attention, plot_feature_attention
from hf_attention_zoo.evaluation.caption_evaluation import evaluate_captioner
from hf_attention_zoo.evaluation.captioning_metrics import caption_scores
from hf_attention_zoo.evaluation.translation_metrics import decode_predictions
from hf_attention_zoo.training.model_arguments import parse_config_overrides
from hf_attention_zoo.training.recipe import family_training_flags, format_seconds, save_training_card
from hf_attention_zoo.registry import get_family

FAMILY = "show_attend_tell"
COMMON_TRAINING_ARGS = [
    "--output_dir", "runs/shapes",
    "--per_device_train_batch_size", "64",
    "--per_device_eval_batch_size", "128",
    "--eval_strategy", "epoch",
    "--save_strategy", "epoch",
    "--save_total_limit", "1",
    "--load_best_model_at_end", "true",
    "--metric_for_best_model", "bleu4",
    "--logging_steps", "50",
    "--predict_with_generate", "true",
    "--generation_num_beams", "1",
    "--generation_max_length", "24",
    "--remove_unused_columns", "false",  # the collator reads the raw image and caption columns
    "--report_to", "none",
    "--seed", "0",
]


@dataclass
class CaptionerArguments:
    preset: str = field(default="shapes", metadata={"help": "A preset of the show_attend_tell family (registry)."})
    config_overrides: str = field(default="", metadata={"help": "Comma-separated config fields, e.g. "
                                                                 "'feature_self_attention=true,hidden_size=128'."})
    baseline: bool = field(default=True, metadata={"help": "Also train the same model without attention "
                                                           "(attention_type=none) and compare the two."})
    num_train: int = field(default=4000, metadata={"help": "Training images of the synthetic task."})
    num_validation: int = field(default=300, metadata={"help": "Validation images (the best checkpoint's)."})
    num_test: int = field(default=300, metadata={"help": "Test images, each with a held-out colour-shape pair."})
    num_test_relations: int = field(default=300, metadata={
        "help": "Relation test images, each with a held-out object-relation-object triple."})
    shapes_seed: int = field(default=0, metadata={"help": "Seed of the synthetic images."})
    test_num_beams: int = field(default=5, metadata={"help": "Beam size of the test evaluation (1: greedy)."})
    overlays: int = field(default=4, metadata={"help": "Test images whose per-word attention is drawn."})


def parse_arguments(argv: list[str]):
    parser = HfArgumentParser((CaptionerArguments, Seq2SeqTrainingArguments))
    return parser.parse_args_into_dataclasses(args=COMMON_TRAINING_ARGS + family_training_flags(FAMILY) + argv)


def caption_metrics(tokenizer):
    """`compute_metrics` of Seq2SeqTrainer(predict_with_generate=True): BLEU-4 and exact match."""

    def compute(prediction: EvalPrediction) -> dict[str, float]:
        scores = caption_scores(*decode_predictions(prediction, tokenizer))
        return {"bleu4": scores["bleu4"], "exact_match": scores["exact_match"]}

    return compute


def train_one(name: str, config, dataset, processor, args: CaptionerArguments, training_args, output_dir: Path,
              argv: list[str]) -> dict:
    """Train one captioner, pick its best checkpoint on validation BLEU-4, evaluate it on test and save it."""
    set_seed(training_args.seed)
    started = time.time()
    training_args.output_dir = str(output_dir)
    model = AutoModelForImageTextToText.from_config(config)
    model.generation_config.max_length = training_args.generation_max_length + 1  # the start token + a caption
    print(f"[captioner] {name}: {model.num_parameters():,} parameters, {len(dataset['train']):,} training images")
    trainer = Seq2SeqTrainer(
        model=model, args=training_args, train_dataset=dataset["train"], eval_dataset=dataset["validation"],
        data_collator=CaptioningCollator(processor), processing_class=processor,
        compute_metrics=caption_metrics(processor.tokenizer),
    )
    train_result = trainer.train()
    training_seconds = time.time() - started
    model = trainer.model.eval()
    results = {}
    evaluations = [("validation", 1), ("test", 1), ("test", args.test_num_beams),
                   ("test_relations", 1), ("test_relations", args.test_num_beams)]
    for split, beams in evaluations:
        if not len(dataset[split]):
            continue
        evaluation = evaluate_captioner(model, processor, dataset[split], num_beams=beams,
                                        max_new_tokens=training_args.generation_max_length)
        results[f"{split} ({'greedy' if beams == 1 else f'beam {beams}'})"] = evaluation
    seconds = time.time() - started

    trainer.save_model(str(output_dir))  # the model and, as its processing_class, the processor
    steps = trainer.state.global_step
    tokens = sum(len(caption.split()) + 1 for caption in dataset["train"]["caption"]) * train_result.metrics["epoch"]
    save_training_card(
        output_dir, model, "train_captioner.py", argv, card_fields(args), seconds=seconds, processes=1, rows={
            "training images": len(dataset["train"]),
            "epochs": round(train_result.metrics["epoch"], 2),
            "optimizer updates": steps,
            "batch size": training_args.per_device_train_batch_size,
            "learning rate": f"{training_args.lr_scheduler_type.value}, peak {training_args.learning_rate}",
            "training throughput": f"{tokens / training_seconds:,.0f} caption tokens/s (validation included)",
            "best checkpoint": "highest validation BLEU-4 (greedy)",
        },
        results={split: card_scores(evaluation.scores) for split, evaluation in results.items()},
        signatures={"bleu4": next(iter(results.values())).bleu_signature},
        evaluation=f"`test` images each hold at least one colour-shape pair never seen in training: "
                   f"{', '.join(' '.join(pair) for pair in HELD_OUT_COMBINATIONS)}. `test_relations` images hold only "
                   f"colour-shape pairs seen in training, and at least one pair of neighbours in one of the "
                   f"{len(HELD_OUT_RELATIONS)} object-relation-object triples never seen in training "
                   "(`synthetic_shapes.HELD_OUT_RELATIONS`).",
    )
    return {"name": name, "model": model, "results": results, "seconds": seconds, "steps": steps,
            "tokens_per_second": tokens / training_seconds, "output_dir": output_dir}


def card_fields(args: CaptionerArguments) -> dict:
    return {"dataset_name": f"synthetic shapes (hf_attention_zoo, seed {args.shapes_seed})"}


def card_scores(scores: dict) -> dict:
    names = {"bleu4": "bleu4", "exact_match": "exact_match", "held_out_named": "held_out_named",
             "held_out_relations_named": "held_out_relations_named",
             "pointing_mass": "pointing_mass", "pointing_ratio": "pointing_ratio", "ran_to_limit": "ran_to_limit"}
    return {names[key]: value for key, value in scores.items() if key in names}


def draw_attention(run: dict, dataset, processor, count: int) -> list[Path]:
    """Per-word overlays of the first `count` test images (beam search's captions), and the SAGAN map of the centre
    query where the encoder has self-attention."""
    model, folder = run["model"], run["output_dir"] / "attention"
    evaluation = run["results"][next(key for key in run["results"] if key.startswith("test (beam"))]
    if evaluation.attention is None or count <= 0:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(min(count, len(evaluation.hypotheses))):
        words = evaluation.hypotheses[index].split() + ["</s>"]
        weights = evaluation.attention[index][:len(words)]
        paths.append(plot_caption_attention(dataset["test"][index]["image"], words[:len(weights)], weights,
                                            folder / f"test-{index}.png"))
    if model.config.feature_self_attention:
        pixel_values = processor(images=[dataset["test"][0]["image"]], return_tensors="pt")["pixel_values"]
        encoded = model.get_encoder()(pixel_values.to(model.device), output_attentions=True)
        grid = evaluation.grid_size
        queries = [(grid[0] // 2, grid[1] // 2), (0, 0)]
        paths.append(plot_feature_attention(dataset["test"][0]["image"], encoded.attentions[0][0, 0].cpu(), grid,
                                            queries, folder / "sagan-test-0.png"))
    return paths


def results_table(runs: list[dict]) -> str:
    header = ("| model | split | BLEU-4 | exact match | held-out objects / relations named | pointing mass | chance | ratio | "
              "ran to limit | train tokens/s | wall time |")
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        for split, evaluation in run["results"].items():
            s = evaluation.scores
            pointing = (f"{s['pointing_mass']:.3f} | {s['chance']:.3f} | {s['pointing_ratio']:.1f}"
                        if "pointing_mass" in s else "– | – | –")
            held_out = next((f"{s[key]:.3f}" for key in ("held_out_named", "held_out_relations_named") if key in s), "–")
            lines.append(f"| {run['name']} | {split} | {s['bleu4']:.2f} | {s['exact_match']:.3f} | {held_out} | {pointing} | "
                         f"{s['ran_to_limit']} | {run['tokens_per_second']:,.0f} | {format_seconds(run['seconds'])} |")
    return "\n".join(lines)


def main(argv: list[str]) -> dict:
    args, training_args = parse_arguments(argv)
    started = time.time()
    dataset = make_shapes_dataset(seed=args.shapes_seed, num_train=args.num_train, num_validation=args.num_validation,
                                  num_test=args.num_test, num_test_relations=args.num_test_relations)
    tokenizer = train_caption_tokenizer(dataset)
    family = get_family(FAMILY)
    overrides = parse_config_overrides(args.config_overrides)
    ids = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.bos_token_id)
    config = family.config_class(**{**family.presets[args.preset], **ids, **overrides})
    processor = build_caption_processor(tokenizer, config.image_size)
    root = Path(training_args.output_dir).resolve()

    runs = [train_one("soft attention" if config.attention_type == "soft" else "no attention", config, dataset,
                      processor, args, training_args, root, argv)]
    if args.baseline and config.attention_type == "soft":
        baseline = family.config_class(**{**config.to_diff_dict(), "attention_type": "none",
                                          "doubly_stochastic_weight": 0.0, "feature_self_attention": False})
        runs.append(train_one("no attention (baseline)", baseline, dataset, processor, args, training_args,
                              root / "baseline", argv))
    figures = draw_attention(runs[0], dataset, processor, args.overlays)

    table = results_table(runs)
    (root / "results.md").write_text(
        f"Synthetic shapes, {args.num_train} training images (seed {args.shapes_seed}); `test` images each hold a "
        "held-out colour-shape pair, `test_relations` images a held-out object-relation-object triple. "
        f"Command: `python scripts/train_captioner.py {' '.join(argv)}`\n\n{table}\n")
    summary = {
        "runs": [{"name": run["name"], "output_dir": str(run["output_dir"]), "steps": run["steps"],
                  "seconds": round(run["seconds"], 1), "tokens_per_second": round(run["tokens_per_second"], 1),
                  "results": {split: e.scores for split, e in run["results"].items()},
                  "samples": [{"hypothesis": h, "reference": r} for h, r in
                              zip(run["results"][next(iter(run["results"]))].hypotheses[:5],
                                  run["results"][next(iter(run["results"]))].references[:5])]}
                 for run in runs],
        "figures": [str(path) for path in figures],
        "seconds": round(time.time() - started, 1),
    }
    (root / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n[captioner] results ({format_seconds(summary['seconds'])} in all)\n{table}")
    print(f"[captioner] saved to {root} (model, processor, model card, results.md, attention/)")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
