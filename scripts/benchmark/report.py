"""The report of scripts/benchmark: machine information, the markdown tables (cases, sequence lengths, targets),
the sequence-length plot, and benchmark.json / benchmark.md. Imported by cli.py, not run on its own."""

import datetime
import json
import os
import platform
from pathlib import Path

import torch
import transformers

SEQUENCE_LENGTH_FAMILIES = ("RNN (Bahdanau)", "Transformer")  # the sequence_length section's models, column order

MEASUREMENT_NOTES = [
    "Contenders of one comparison are built from the same seed at identical sizes and get the same random token "
    "ids (none of them a special token); each is warmed up, then repeats run interleaved.",
    "Parameter counts are trainable parameters with tied weights counted once. Marian and torch.nn.Transformer have "
    "biases on the q/k/v/out projections (4·d_model per attention block) that the zoo Transformer (the paper's "
    "W^Q, W^K, W^V, W^O) has not; Marian also stores its sinusoidal tables as frozen parameters (not counted). The "
    "hand-written RNN baselines have exactly the zoo RNN's parameter shapes.",
    "Peak extra memory: CPU — one extra untimed run recorded by torch.profiler(profile_memory=True), allocation and "
    "free events summed in time order (activations, gradients, temporaries; parameters and optimizer state "
    "excluded); GPU — torch.cuda.max_memory_allocated above the memory allocated before the run.",
    "bf16 autocast: torch.autocast(bfloat16) around forward and loss, fp32 weights, backward and optimizer outside.",
    "Decoding: every contender produces exactly the same number of new tokens (min = max new tokens); "
    "generate()'s time includes its Python-level set-up and the encoder.",
]


# ---------------------------------------------------------------------------------------------------------------
# Machine


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages; None on a platform without them (Windows)."""
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def machine_info(command: str) -> dict:
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import ctranslate2

        ct2 = ctranslate2.__version__
    except ImportError:
        ct2 = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "ctranslate2": ct2, "platform": platform.platform(),
        "load_average_at_start": load_average(),
        "command": command,
    }


# ---------------------------------------------------------------------------------------------------------------
# Markdown


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_load(averages) -> str:
    return "n/a" if averages is None else " / ".join(f"{a:.1f}" for a in averages)


def markdown_header(machine: dict) -> list[str]:
    """Title, the command and the machine it ran on, and how to read the tables."""
    return ["# hf_attention_zoo benchmark", "",
            f"`{machine['command']}` — {machine['date']}; {machine['cpu']}, {machine['cpu_count']} cores, "
            f"{machine['torch_threads']} torch threads, GPU: {machine['gpu'] or 'none'}; torch {machine['torch']}, "
            f"transformers {machine['transformers']}, ctranslate2 {machine['ctranslate2'] or 'not installed'}; "
            f"load average {fmt_load(machine['load_average_at_start'])} at start, "
            f"{fmt_load(machine['load_average_at_end'])} at end.",
            "", "Times are per call; repeats interleaved across contenders; ratios = median time ÷ the peer's median "
            "time (< 1: faster than the peer). Timings on a shared machine are noisy: compare ratios, not absolute "
            "numbers.", ""]


def markdown_cases(cases: list[dict]) -> list[str]:
    lines = []
    for case in cases:
        lines += [f"**{case['case']}**", "",
                  f"| contender | params | median (min–max) | {case['unit']} | time ÷ {case['peer'] or '—'} | "
                  "peak extra memory |", "|---|---:|---:|---:|---:|---:|"]
        for name, r in case["contenders"].items():
            vs, memory = case.get("time_ratio_vs_peer", {}).get(name), r.get("peak_memory_bytes")
            cells = [name, "—" if r["params"] is None else f"{r['params']:,}",
                     f"{fmt_time(r['median_s'])} ({fmt_time(r['min_s'])}–{fmt_time(r['max_s'])})",
                     f"{r['throughput']:,.0f}", "—" if vs is None else f"{vs:.2f}",
                     "—" if memory is None else f"{memory / 2**20:.1f} MiB"]
            lines.append("| " + " | ".join(cells) + " |")
        checks = case.get("checks")
        if checks:
            same = {k: v for k, v in checks.items() if k != "output_lengths"}
            if same:
                lines += ["", "Output checks: " + ", ".join(f"{k} = {v}" for k, v in same.items())]
        for key in ("achieved_tflops", "mfu"):
            if key in case:
                lines += ["", f"{key}: {case[key]:.3g}"]
        lines.append("")
    return lines


def markdown_sequence_length(section: dict) -> list[str]:
    """One row per length T: each family's training step time and decoding time per generated token; the plot."""
    families = SEQUENCE_LENGTH_FAMILIES
    lines = ["| T | " + " | ".join(f"{f} train step" for f in families) + " | " +
             " | ".join(f"{f} decode ms/token" for f in families) + " |",
             "|---:|" + "---:|" * 4]
    for row in section["rows"]:
        cells = [fmt_time(row[f"{f} training"]["median_s"]) for f in families]
        cells += [f"{row[f'{f} greedy decoding']['median_s'] / row['length'] * 1e3:.2f}" for f in families]
        lines.append(f"| {row['length']} | " + " | ".join(cells) + " |")
    return lines + ["", f"![sequence length]({section['plot']})", ""]


def markdown_targets(targets: list[dict]) -> list[str]:
    """The issue's goals from every section, with the measured value and whether it was met."""
    lines = ["## Targets", "", "| target | value | needed | met |", "|---|---:|---:|:---:|"]
    for t in targets:
        value = "—" if t["value"] is None else f"{t['value']:.2f}"
        met = {True: "yes", False: "**no**", None: "—"}[t["met"]]
        lines.append(f"| {t['target']} | {value} | {t['op']} {t['threshold']} | {met} |")
    return lines + [""]


def to_markdown(report: dict) -> str:
    lines = markdown_header(report["machine"])
    all_targets = []
    for name, section in report["sections"].items():
        lines += [f"## {name}", ""]
        if section.get("skipped") is True:
            lines += [f"Skipped: {section['reason']}", ""]
            continue
        lines += [section["description"], ""]
        for reason in section.get("skipped") or []:
            lines += [f"- skipped: {reason}"]
        if section.get("skipped"):
            lines.append("")
        if name == "sequence_length":
            lines += markdown_sequence_length(section)
        else:
            lines += markdown_cases(section["cases"])
        all_targets += section.get("targets", [])
    if all_targets:
        lines += markdown_targets(all_targets)
    lines += ["## Measurement notes", ""] + [f"- {note}" for note in report["measurement_notes"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# Files


def plot_sequence_length(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = [row["length"] for row in rows]
    figure, (train_axis, decode_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for family, style in zip(SEQUENCE_LENGTH_FAMILIES, ("o-", "s-")):
        train = [row[f"{family} training"]["median_s"] for row in rows]
        decode = [row[f"{family} greedy decoding"]["median_s"] / row["length"] * 1e3 for row in rows]
        train_axis.plot(lengths, train, style, label=family)
        decode_axis.plot(lengths, decode, style, label=family)
    first = rows[0]["length"]
    # Reference slopes from the first point: a training step against T and T²; decoding time per token against
    # 1 (constant work per token) and T (attention over everything so far).
    for axis, key, powers in ((train_axis, "training", (1, 2)), (decode_axis, "greedy decoding", (0, 1))):
        values = [rows[0][f"{family} {key}"]["median_s"] for family in SEQUENCE_LENGTH_FAMILIES]
        base = min(values) if key == "training" else min(values) / first * 1e3
        for power, style in zip(powers, ("k:", "k--")):
            axis.plot(lengths, [base * (t / first) ** power for t in lengths], style, linewidth=0.8,
                      label={0: "∝ 1", 1: "∝ T", 2: "∝ T²"}[power])
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("sequence length T (source = target)")
        axis.legend()
        axis.grid(True, which="both", alpha=0.3)
    train_axis.set_ylabel("seconds per training step")
    decode_axis.set_ylabel("ms per generated token (greedy, batch 1)")
    train_axis.set_title("Training step")
    decode_axis.set_title("Decoding")
    figure.suptitle("RNN attention: T sequential steps, each attending over the source; "
                    "Transformer: one parallel pass with O(T²) attention", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(report: dict, output_dir: Path) -> str:
    """Write <output_dir>/benchmark.json (the whole report) and benchmark.md (its tables); return the markdown."""
    (output_dir / "benchmark.json").write_text(json.dumps(report, indent=1, default=str))
    markdown = to_markdown(report)
    (output_dir / "benchmark.md").write_text(markdown)
    return markdown
