"""Decode a split with beam search under each length normalisation and α, and report BLEU and output length:
none; length**α (transformers' `length_penalty`); GNMT's ((5 + |y|) / 6)**α, applied inside the search
(`hf_attention_zoo.generation.length_normalization`).

    python scripts/length_normalization_sweep.py --model runs/multi30k-de-en-transformer --split test \\
        --num_beams 5 --alphas 0.6 1.0 --output_dir runs/multi30k-de-en-transformer/length-normalization

Writes `length_normalization.md` and `.json` to --output_dir. BLEU and chrF are sacreBLEU's (cased, 13a); the
average output length counts target tokens before eos; the length ratio is sacreBLEU's (output / reference words).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from sacrebleu.metrics import BLEU
from transformers import AutoModelForSeq2SeqLM

from hf_attention_zoo.data.translation_task import load_task_or_options, load_translation_task
from hf_attention_zoo.evaluation.translation_metrics import corpus_scores
from hf_attention_zoo.generation.length_normalization import length_normalization_kwargs
from hf_attention_zoo.generation.translate import translate


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="A folder saved by scripts/train.py.")
    parser.add_argument("--split", default="test")
    parser.add_argument("--num_beams", type=int, default=5)
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.6, 1.0], help="α values for length and gnmt.")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--max_sentences", type=int, default=None)
    parser.add_argument("--max_new_tokens", type=int, default=None)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--dataset", default=None, help="Override the saved task's corpus.")
    parser.add_argument("--source_lang", default=None)
    parser.add_argument("--target_lang", default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.num_beams < 2:
        parser.error("--num_beams must be at least 2: with one hypothesis no normalisation changes the output.")
    return args


def main(argv: list[str]) -> dict:
    args = parse_args(argv)
    data_args, source_tokenizer, target_tokenizer = load_task_or_options(args.model, args.dataset, args.source_lang,
                                                                         args.target_lang)
    pairs = load_translation_task(data_args)[args.split]["translation"][: args.max_sentences]
    sources = [pair[data_args.source_lang] for pair in pairs]
    references = [pair[data_args.target_lang] for pair in pairs]
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model).to(args.device).eval()

    settings = [("none", None)] + [(method, alpha) for method in ("length", "gnmt") for alpha in args.alphas]
    rows = []
    for method, alpha in settings:
        started = time.time()
        hypotheses = translate(model, source_tokenizer, target_tokenizer, sources, args.batch_size,
                               num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
                               **length_normalization_kwargs(method, alpha or 1.0, args.num_beams))
        scores = corpus_scores(hypotheses, references)
        bleu = BLEU().corpus_score(hypotheses, [references])
        token_lengths = [len(ids) - 1 for ids in target_tokenizer(text_target=hypotheses)["input_ids"]]
        rows.append({
            "normalization": method, "alpha": alpha, "sacrebleu": round(scores["sacrebleu"], 2),
            "chrf": round(scores["chrf"], 2), "mean_output_tokens": round(sum(token_lengths) / len(token_lengths), 2),
            "length_ratio": round(bleu.sys_len / bleu.ref_len, 3),
            "empty_outputs": sum(not text.strip() for text in hypotheses), "seconds": round(time.time() - started, 1),
        })
        print(f"[length_normalization] {method} α={alpha}: {rows[-1]}", flush=True)

    command = "python scripts/length_normalization_sweep.py " + " ".join(argv)
    lines = [f"`{command}` — {data_args.description}, split {args.split}, {len(sources)} sentences, beam "
             f"{args.num_beams}, on {args.device}.", "",
             "| normalisation | α | sacreBLEU | chrF | mean output tokens | length ratio | empty outputs | seconds |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['normalization']} | {row['alpha'] if row['alpha'] is not None else '–'} | "
                     f"{row['sacrebleu']:.2f} | {row['chrf']:.2f} | {row['mean_output_tokens']:.2f} | "
                     f"{row['length_ratio']:.3f} | {row['empty_outputs']} | {row['seconds']:.0f} |")
    lines += ["", f"sacreBLEU signature: {scores['signatures']['sacrebleu']}."]
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "length_normalization.md").write_text("\n".join(lines) + "\n")
    result = {"command": command, "data": data_args.description, "split": args.split, "sentences": len(sources),
              "num_beams": args.num_beams, "rows": rows, "signature": scores["signatures"]["sacrebleu"]}
    (output_dir / "length_normalization.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
