"""Train an attention seq2seq model with Seq2SeqTrainer, evaluate it with generate(), and save it.

The built-in default trains a small RNN with Bahdanau attention on the package's synthetic dates task (human
dates -> ISO dates), prints sample translations and the exact-match accuracy; no download is needed:

    python scripts/train.py
    python scripts/train.py --family transformer --preset small --learning_rate 5e-4
    python scripts/train.py --config_overrides "cell_type=lstm,attention_type=general,attention_wiring=luong,input_feeding=true"
    python scripts/train.py --num_train 2000 --num_train_epochs 1 --output_dir /tmp/dates-smoke

Every Seq2SeqTrainingArguments option works too (`--per_device_train_batch_size 32`, `--use_cpu`, ...).
"""

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    DataCollatorForSeq2Seq,
    HfArgumentParser,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    set_seed,
)

from hf_attention_zoo import RNNSeq2SeqConfig
from hf_attention_zoo.subword_tokenizer import tokenize_translation_dataset, train_tokenizer
from hf_attention_zoo.synthetic_dates import SOURCE_LANG, TARGET_LANG, make_dates_dataset

FAMILIES = {"rnn": "zoo_rnn_seq2seq", "transformer": "zoo_transformer"}

# Defaults of the built-in job; any of them can be overridden on the command line (a later flag wins).
DEFAULT_TRAINING_ARGS = [
    "--output_dir", "runs/dates",
    "--num_train_epochs", "3",
    "--per_device_train_batch_size", "64",
    "--per_device_eval_batch_size", "128",
    "--learning_rate", "2e-3",
    "--warmup_steps", "50",
    "--eval_strategy", "epoch",
    "--save_strategy", "epoch",
    "--save_total_limit", "1",
    "--load_best_model_at_end", "true",
    "--metric_for_best_model", "exact_match",
    "--logging_steps", "50",
    "--predict_with_generate", "true",
    "--generation_num_beams", "1",
    "--generation_max_length", "16",
    "--report_to", "none",
    "--seed", "0",
]


@dataclass
class ModelArguments:
    family: Literal["rnn", "transformer"] = field(default="rnn", metadata={"help": "Model family."})
    preset: str = field(default="small", metadata={"help": "A preset of the family's config (e.g. small, bahdanau2015)."})
    config_overrides: str = field(
        default="", metadata={"help": "Comma-separated config fields, e.g. 'hidden_size=128,cell_type=lstm'."}
    )


@dataclass
class DataArguments:
    num_train: int = field(default=20_000, metadata={"help": "Synthetic training pairs."})
    num_validation: int = field(default=1_000, metadata={"help": "Synthetic validation pairs."})
    num_test: int = field(default=1_000, metadata={"help": "Synthetic test pairs."})
    max_source_length: int = field(default=48, metadata={"help": "Most source tokens (longer inputs are cut)."})
    max_target_length: int = field(default=16, metadata={"help": "Most target tokens."})
    num_samples: int = field(default=8, metadata={"help": "Test translations printed at the end."})


def parse_overrides(text: str) -> dict:
    """'a=1,b=true,c=lstm' -> {'a': 1, 'b': True, 'c': 'lstm'} (values parsed as JSON where they can be)."""
    overrides = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if "=" not in item:
            raise ValueError(f"--config_overrides item {item!r} is not of the form name=value.")
        name, value = (part.strip() for part in item.split("=", 1))
        try:
            overrides[name] = json.loads(value.lower() if value.lower() in ("true", "false", "null") else value)
        except json.JSONDecodeError:
            overrides[name] = value
    return overrides


def build_config(model_args: ModelArguments, tokenizer):
    ids = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.bos_token_id)
    config_class = AutoConfig.for_model(FAMILIES[model_args.family]).__class__
    return config_class.from_preset(model_args.preset, **ids, **parse_overrides(model_args.config_overrides))


def exact_match_metric(tokenizer):
    def compute_metrics(eval_prediction):
        predictions, labels = eval_prediction
        labels = np.where(labels == -100, tokenizer.pad_token_id, labels)
        predictions = np.where(predictions == -100, tokenizer.pad_token_id, predictions)
        hypotheses = tokenizer.batch_decode(predictions, skip_special_tokens=True)
        references = tokenizer.batch_decode(labels, skip_special_tokens=True)
        return {"exact_match": float(np.mean([h == r for h, r in zip(hypotheses, references)]))}

    return compute_metrics


def main(argv: list[str]) -> dict:
    parser = HfArgumentParser((ModelArguments, DataArguments, Seq2SeqTrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=DEFAULT_TRAINING_ARGS + argv)
    set_seed(training_args.seed)
    started = time.time()

    dataset = make_dates_dataset(data_args.num_train, data_args.num_validation, data_args.num_test,
                                 seed=training_args.seed)
    tokenizer = train_tokenizer(dataset, [SOURCE_LANG, TARGET_LANG], model="char",
                                model_max_length=data_args.max_source_length)
    tokenized = tokenize_translation_dataset(dataset, tokenizer, SOURCE_LANG, TARGET_LANG,
                                             data_args.max_source_length, data_args.max_target_length)
    config = build_config(model_args, tokenizer)
    model = AutoModelForSeq2SeqLM.from_config(config)
    model.generation_config.max_length = data_args.max_target_length
    print(f"[train] {type(model).__name__}: {model.num_parameters():,} parameters; "
          f"{len(tokenized['train']):,} training pairs; vocabulary {len(tokenizer)}")

    trainer = Seq2SeqTrainer(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        processing_class=tokenizer,
        compute_metrics=exact_match_metric(tokenizer),
    )
    trainer.train()
    test = trainer.evaluate(tokenized["test"], metric_key_prefix="test")
    trainer.save_model(training_args.output_dir)

    samples = dataset["test"].select(range(min(data_args.num_samples, len(dataset["test"]))))
    sources = [pair[SOURCE_LANG] for pair in samples["translation"]]
    batch = tokenizer(sources, return_tensors="pt", padding=True).to(model.device)
    outputs = model.generate(**batch, num_beams=training_args.generation_num_beams or 1)
    print("\n[train] sample translations (test split):")
    for source, pair, hypothesis in zip(sources, samples["translation"], tokenizer.batch_decode(outputs, skip_special_tokens=True)):
        mark = "ok " if hypothesis == pair[TARGET_LANG] else "BAD"
        print(f"  {mark} {source!r:40} -> {hypothesis!r} (reference {pair[TARGET_LANG]!r})")
    summary = {"test_exact_match": test["test_exact_match"], "seconds": round(time.time() - started, 1),
               "output_dir": str(Path(training_args.output_dir).resolve())}
    print(f"\n[train] test exact match: {summary['test_exact_match']:.3f}   "
          f"time: {summary['seconds']} s   saved to: {summary['output_dir']}")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
