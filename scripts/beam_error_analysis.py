"""Beam-search error analysis: for every sentence of a split and every beam size, was a bad translation the search's
fault or the model's? (`hf_attention_zoo.evaluation.search_errors`: P(y*|x) vs P(ŷ|x) with the same model and
normalisation; exact match, search error or model error; per beam size the counts, BLEU, length ratio and empty
outputs; optionally an exact depth-first search on short sources.)

    python scripts/beam_error_analysis.py --model runs/multi30k-transformer --split test --beams 1 2 5 10 \\
        --output_dir runs/multi30k-transformer/search-errors --max_sentences 500
    python scripts/beam_error_analysis.py --model runs/dates --split test --beams 1 4 --output_dir runs/dates/search \\
        --exact_search_sentences 50 --exact_search_max_source_tokens 12

The data comes from the `zoo_task.json` scripts/train.py saved with the model; `--dataset`, `--source_lang` and
`--target_lang` override it (and are needed for a folder without one). Writes `search_errors.md` (the table),
`search_errors.json` (the table and every sentence's scores and verdicts) and `search_errors.png` to --output_dir.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForSeq2SeqLM

from hf_attention_zoo.evaluation.search_errors import analyze_search_errors, markdown_table, plot_report
from hf_attention_zoo.data.translation_task import load_task_or_options, load_translation_task
from hf_attention_zoo.generation.scoring import NORMALIZATIONS


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="A folder saved by scripts/train.py (or save_pretrained).")
    parser.add_argument("--split", default="test", help="The split to analyse (test, validation, test_2017, ...).")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 2, 5, 10], help="Beam sizes to compare.")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--normalization", choices=NORMALIZATIONS, default="none",
                        help="Length normalisation of the search and of both scores (default: none, the model's "
                             "own probability, as Stahlberg & Byrne 2019).")
    parser.add_argument("--alpha", type=float, default=1.0, help="α of the length and gnmt normalisations.")
    parser.add_argument("--max_sentences", type=int, default=None, help="Analyse the first N pairs only.")
    parser.add_argument("--max_new_tokens", type=int, default=None,
                        help="Longest output (default: the model's generation config).")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--exact_search_sentences", type=int, default=0,
                        help="Run the exact depth-first search on this many short sources (0: off).")
    parser.add_argument("--exact_search_max_source_tokens", type=int, default=12)
    parser.add_argument("--exact_search_budget", type=int, default=2000, help="Most prefixes expanded per sentence.")
    parser.add_argument("--dataset", default=None, help="Override the saved task's corpus.")
    parser.add_argument("--source_lang", default=None)
    parser.add_argument("--target_lang", default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if any(beam < 1 for beam in args.beams):
        parser.error(f"--beams {args.beams}: every beam size must be at least 1.")
    return args


def main(argv: list[str]) -> dict:
    args = parse_args(argv)
    data_args, source_tokenizer, target_tokenizer = load_task_or_options(args.model, args.dataset, args.source_lang,
                                                                         args.target_lang)
    dataset = load_translation_task(data_args)
    if args.split not in dataset:
        raise ValueError(f"--split {args.split!r} is not in {data_args.dataset}; its splits are {list(dataset)}.")
    pairs = dataset[args.split]["translation"][: args.max_sentences]
    sources = [pair[data_args.source_lang] for pair in pairs]
    references = [pair[data_args.target_lang] for pair in pairs]
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model).to(args.device).eval()

    started = time.time()
    report = analyze_search_errors(
        model, source_tokenizer, target_tokenizer, sources, references, args.beams, args.normalization, args.alpha,
        batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
        exact_search_sentences=args.exact_search_sentences,
        exact_search_max_source_tokens=args.exact_search_max_source_tokens,
        exact_search_budget=args.exact_search_budget,
    )
    seconds = time.time() - started
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    command = "python scripts/beam_error_analysis.py " + " ".join(argv)
    table = markdown_table(report)
    (output_dir / "search_errors.md").write_text(
        f"# Beam-search error analysis\n\n`{command}` — {data_args.description}, split {args.split}, "
        f"{time.strftime('%Y-%m-%d')}, {seconds:.0f} s on {args.device}.\n\n{table}\n"
        "P(y*|x) is the model's teacher-forced probability of the reference encoded by the target tokenizer "
        "(ending in eos); P(ŷ|x) that of the output. Search error: P(y*|x) > P(ŷ|x); model error: otherwise; "
        "exact match: ŷ = y* token for token.\n"
    )
    result = {"command": command, "data": data_args.description, "split": args.split, "seconds": round(seconds, 1),
              **report.to_dict()}
    (output_dir / "search_errors.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    plot_report(report, output_dir / "search_errors.png")
    print(table, end="")
    print(f"[beam_error_analysis] {len(sources)} sentences, {seconds:.1f} s; wrote {output_dir}/search_errors.md, "
          ".json, .png")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
