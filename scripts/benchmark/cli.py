"""Speed of the zoo models against their peers, side by side in one run: medians with min/max, and ratios.

    python scripts/benchmark                          # everything, 5-6 minutes on 2 quiet CPU cores
    python scripts/benchmark --quick                  # tiny sizes, 1 repeat, 1 thread: checks that it runs
    python scripts/benchmark --only transformer_training,rnn_decoding --repeats 3 --warmup 1
    python scripts/benchmark --output_dir runs/benchmark-laptop --threads 4
    python scripts/benchmark --only transformer_training,transformer_decoding --profile   # + profile_*.txt

Sections (`--only`, comma-separated): transformer_training, transformer_decoding, rnn_training, rnn_decoding,
sequence_length, gpu. Every comparison builds its contenders at identical sizes from one seed, feeds them the same
random token ids, warms each up, then times repeats interleaved (A B C A B C ...) so that a busy machine slows all
contenders alike; a ratio is median time / median time. Writes <output_dir>/benchmark.json (machine, raw times,
medians, ratios, targets met or missed), benchmark.md (the tables, printed at the end) and sequence_length.png.
"""

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
import transformers
from transformers import MarianMTModel

from report import MEASUREMENT_NOTES, load_average, machine_info, write_report
from hf_attention_zoo import TransformerSeq2SeqForConditionalGeneration
from contenders import generate_call, hf_loss, marian_config, zoo_transformer_config
from harness import QUICK_SIZES, Sizes, build, random_ids, training_step
from sections import (
    gpu, gru_cell, rnn_decoding, rnn_training, sequence_length, transformer_decoding, transformer_training,
)


SECTIONS = ("transformer_training", "transformer_decoding", "rnn_training", "rnn_decoding", "gru_cell", "sequence_length",
            "gpu")


def parse_sections(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=parse_sections, default=list(SECTIONS),
                        help=f"comma-separated sections to run (default: all): {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true",
                        help="tiny models and inputs, 1 repeat, no warm-up: checks that every section runs")
    parser.add_argument("--output_dir", default="runs/benchmark")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per contender (default 7; quick 1)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed runs per contender first (default 2; quick 0)")
    parser.add_argument("--scaling_repeats", type=int, default=None,
                        help="repeats per length in the sequence_length section (default 3; quick 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's choice; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gpu_peak_tflops", type=float, default=989.0,
                        help="the GPU's dense bf16 peak for MFU (H100/H200 SXM: 989)")
    parser.add_argument("--profile", action="store_true",
                        help="also write torch.profiler tables of a training step and a beam-5 batch-1 generate() "
                             "(zoo and Marian) to <output_dir>/profile_*.txt")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.repeats = args.repeats if args.repeats is not None else (1 if args.quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.quick else 2)
    args.scaling_repeats = args.scaling_repeats if args.scaling_repeats is not None else (1 if args.quick else 3)
    return args


def write_profiles(args, sizes: Sizes) -> list[str]:
    """torch.profiler tables (top ops by self CPU time) of one training step and one beam generate() per model."""
    config = zoo_transformer_config(sizes)
    input_ids = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed)
    labels = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed + 1)
    written = []
    for name, factory in (("zoo", lambda: TransformerSeq2SeqForConditionalGeneration(config)),
                          ("marian", lambda: MarianMTModel(marian_config(config)))):
        model = build(factory, args.seed)
        step = training_step(model, hf_loss(model, input_ids, labels), False, torch.device("cpu"))
        decode = generate_call(model, input_ids[:1, : sizes.source_len], sizes.num_beams, sizes.new_tokens)
        for kind, run in (("training", step), ("beam_generate", lambda m=model, d=decode: (m.eval(), d(), m.train()))):
            for _ in range(2):
                run()
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                run()
            path = Path(args.output_dir) / f"profile_{kind}_{name}.txt"
            path.write_text(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
            written.append(path.name)
    return written


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    threads_before, verbosity_before = torch.get_num_threads(), transformers.logging.get_verbosity()
    # Quick mode is a smoke test, run on busy machines: one thread avoids two-thread contention dominating it.
    torch.set_num_threads(args.threads or (1 if args.quick else threads_before))
    transformers.logging.set_verbosity_error()  # generate()'s notes on max_length vs max_new_tokens, etc.
    try:
        with torch.random.fork_rng():  # the seeds set while building models stay inside
            return run_benchmark(args)
    finally:  # main() is also called in-process by the tests
        torch.set_num_threads(threads_before)
        transformers.logging.set_verbosity(verbosity_before)


def run_benchmark(args: argparse.Namespace) -> dict:
    sizes = QUICK_SIZES if args.quick else Sizes()
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine_info(" ".join(["python scripts/benchmark", *args.argv])), "sizes": asdict(sizes),
              "settings": dict(vars(args)), "measurement_notes": MEASUREMENT_NOTES,
              "sections": {}}
    functions = {"transformer_training": transformer_training, "transformer_decoding": transformer_decoding,
                 "rnn_training": rnn_training, "rnn_decoding": rnn_decoding, "gru_cell": gru_cell,
                 "sequence_length": sequence_length,
                 "gpu": gpu}
    for name in SECTIONS:
        if name not in args.only:
            continue
        start = time.perf_counter()
        print(f"[benchmark] {name} ...", flush=True)
        report["sections"][name] = functions[name](args, sizes)
        report["sections"][name]["section_seconds"] = round(time.perf_counter() - start, 2)
    if args.profile:
        report["profiles"] = write_profiles(args, sizes)
    report["machine"]["load_average_at_end"] = load_average()
    print(write_report(report, output_dir))
    return report


if __name__ == "__main__":
    main()
