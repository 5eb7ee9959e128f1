"""Translate a split with beam search and score it: sacreBLEU (cased, 13a) and chrF with their signatures, the
lowercased tokenized BLEU of older papers, and teacher-forced perplexity without label smoothing. The hypotheses are
saved next to the scores, and a local model folder's card gets the results.

    python scripts/evaluate_model.py --model runs/dates
    python scripts/evaluate_model.py --model runs/multi30k-transformer --split test --num_beams 5 --length_penalty 0.6
    python scripts/evaluate_model.py --model runs/multi30k-transformer --split test_2017
    python scripts/evaluate_model.py --model <user>/<repo> --dataset ../shared/data/multi30k   # a Hub model

The data comes from the `zoo_task.json` that scripts/train.py saved with the model (the same corpus, languages and
length limits); `--dataset`, `--source_lang`, `--target_lang` override it.
"""

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import DatasetDict
from huggingface_hub import snapshot_download
from torch.utils.data import DataLoader
from transformers import AutoModelForSeq2SeqLM, DataCollatorForSeq2Seq, HfArgumentParser

from hf_attention_zoo.hub.model_card import update_model_card
from hf_attention_zoo.data.subword_tokenizer import tokenize_translation_dataset
from hf_attention_zoo.generation.length_normalization import length_normalization_kwargs
from hf_attention_zoo.generation.translate import translate
from hf_attention_zoo.evaluation.translation_metrics import corpus_scores, teacher_forced_perplexity
from hf_attention_zoo.data.translation_task import load_task, load_translation_task


@dataclass
class EvaluateArguments:
    model: str = field(metadata={"help": "A folder saved by scripts/train.py, or a Hub model id."})
    split: str = field(default="test", metadata={"help": "The split to translate (test, validation, test_2017, ...)."})
    num_beams: int | None = field(default=None, metadata={"help": "Beam size (default: the model's generation config)."})
    length_penalty: float | None = field(default=None, metadata={"help": "Beam length penalty α (default: the model's)."})
    length_normalization: str = field(
        default="length",
        metadata={"help": "How beam search normalises scores by length, with α = --length_penalty: length "
                          "(|y|**α, transformers' own), gnmt (((5+|y|)/6)**α, Wu et al. 2016, inside the search) or "
                          "none.", "choices": ["length", "gnmt", "none"]},
    )
    max_new_tokens: int | None = field(default=None, metadata={"help": "Most generated tokens (default: the model's max_length)."})
    batch_size: int = field(default=64, metadata={"help": "Sentences per generate() call."})
    device: str = field(default="cuda" if torch.cuda.is_available() else "cpu", metadata={"help": "cpu or cuda."})
    output_dir: str | None = field(default=None, metadata={"help": "Where scores and hypotheses go (default: the model folder)."})
    dataset: str | None = field(default=None, metadata={"help": "Override the saved task's corpus."})
    source_lang: str | None = field(default=None, metadata={"help": "Override the saved source language."})
    target_lang: str | None = field(default=None, metadata={"help": "Override the saved target language."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Evaluate the first N pairs only."})
    update_model_card: bool = field(default=True, metadata={"help": "Add the results to a local folder's README.md."})


def main(argv: list[str]) -> dict:
    (args,) = HfArgumentParser(EvaluateArguments).parse_args_into_dataclasses(args=argv)
    local = Path(args.model).is_dir()
    folder = Path(args.model) if local else Path(snapshot_download(args.model))
    data_args, tokenizer, target_tokenizer = load_task(
        folder, dataset=args.dataset, source_lang=args.source_lang, target_lang=args.target_lang,
        max_eval_samples=args.max_eval_samples,
    )
    dataset = load_translation_task(data_args)
    if args.split not in dataset:
        raise ValueError(f"--split {args.split!r} is not in {data_args.dataset}; its splits are {list(dataset)}.")
    pairs = dataset[args.split]["translation"]
    sources = [pair[data_args.source_lang] for pair in pairs]
    references = [pair[data_args.target_lang] for pair in pairs]
    model = AutoModelForSeq2SeqLM.from_pretrained(folder).to(args.device).eval()

    generation = model.generation_config
    num_beams = args.num_beams or generation.num_beams
    alpha = args.length_penalty if args.length_penalty is not None else generation.length_penalty
    started = time.time()
    hypotheses = translate(model, tokenizer, target_tokenizer, sources, args.batch_size, num_beams=num_beams,
                           max_new_tokens=args.max_new_tokens,
                           **length_normalization_kwargs(args.length_normalization, alpha, num_beams))
    seconds = time.time() - started
    scores = corpus_scores(hypotheses, references)
    tokenized = tokenize_translation_dataset(
        DatasetDict({args.split: dataset[args.split]}), tokenizer, data_args.source_lang,
        data_args.target_lang, data_args.max_source_length, data_args.max_target_length,
        target_tokenizer=target_tokenizer,
    )[args.split]
    loader = DataLoader(tokenized, batch_size=args.batch_size, collate_fn=DataCollatorForSeq2Seq(tokenizer, model=model))
    perplexity = teacher_forced_perplexity(model, loader)

    results = {
        "sacrebleu": scores["sacrebleu"], "chrf": scores["chrf"],
        "bleu_lowercase_tokenized": scores["bleu_lowercase_tokenized"], "perplexity": perplexity["perplexity"],
        "exact_match": sum(h == r for h, r in zip(hypotheses, references)) / len(references),
    }
    report = {
        "model": args.model, "split": args.split, "data": data_args.description, "sentences": len(sources),
        "results": results, "signatures": scores["signatures"], "label_tokens": perplexity["tokens"],
        "decoding": {"num_beams": num_beams, "length_normalization": args.length_normalization,
                     "length_penalty": alpha,
                     "max_new_tokens": args.max_new_tokens, "max_length": generation.max_length},
        "translate_seconds": round(seconds, 2), "device": args.device,
    }
    output_dir = Path(args.output_dir) if args.output_dir else folder
    output_dir.mkdir(parents=True, exist_ok=True)
    hypotheses_path = output_dir / f"hypotheses.{args.split}.{data_args.target_lang}"
    hypotheses_path.write_text("".join(f"{text}\n" for text in hypotheses), encoding="utf-8")
    (output_dir / f"eval_{args.split}.json").write_text(json.dumps(report, indent=2) + "\n")
    if local and args.update_model_card:
        update_model_card(
            folder, results={args.split: results}, signatures=scores["signatures"],
            evaluation=(f"`scripts/evaluate_model.py --split {args.split}`: beam {num_beams}, length normalisation "
                        f"{args.length_normalization} with α = {alpha}; perplexity is teacher-forced, without label "
                        "smoothing."),
        )

    print(f"[evaluate] {args.model} on {args.split} ({len(sources)} sentences of {data_args.description}), "
          f"beam {report['decoding']['num_beams']}, {seconds:.1f} s:")
    for name, value in results.items():
        print(f"  {name:<25} {value:.4f}" if name == "exact_match" else f"  {name:<25} {value:.2f}")
    for name, signature in scores["signatures"].items():
        print(f"  signature {name}: {signature}")
    print(f"  hypotheses: {hypotheses_path}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
