"""Translate one sentence and draw the cross-attention of the translation as a heatmap; print the translation and its
hard alignment.

    python scripts/plot_attention.py --model runs/dates --output runs/dates/attention.png --num_beams 4 "9 May 1989"
    python scripts/plot_attention.py --model runs/dates --output map.png --num_beams 4 --num_return_sequences 3 "9/5/89"
    python scripts/plot_attention.py --model runs/multi30k-transformer --output map.png --layer 5 --head 0 "Two dogs."

The map is that of the hypothesis generate() returned, traced through beam search
(`hf_attention_zoo.evaluation.attention_maps.generate_with_attention`): source tokens along the top, target tokens down
the side, the end-of-sequence tokens included. `--layer` / `--head` pick one decoder layer / head of a Transformer;
left out, the heatmap is the mean over them (an RNN has one of each). With `--num_return_sequences K` > 1 every
hypothesis gets its own file, best first: --output attention.png writes attention-1.png ... attention-K.png.

Each hypothesis is printed as `translation ||| alignment`, the alignment in the Pharaoh format of fast_align
("i-j": source token i, target token j, 0-based; tokens are characters or subwords; eos left out), and the files
written go to stderr.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import HfArgumentParser

from hf_attention_zoo.evaluation.attention_maps import (
    PLOT_FORMATS,
    generate_with_attention,
    plot_attention,
    readable_tokens,
    select_attention,
)
from hf_attention_zoo.generation.translate import load_translator


@dataclass
class PlotAttentionArguments:
    """The options of the script; the sentence is the positional argument (see `parse_arguments`)."""

    model: str = field(metadata={"help": "A folder saved by save_pretrained / Trainer.save_model, or a Hub id."})
    output: str = field(metadata={"help": "The heatmap file (.png, .pdf or .svg); FILE-1.png ... with K > 1."})
    num_beams: int | None = field(
        default=None, metadata={"help": "Beam size (default: the model's generation_config)."}
    )
    num_return_sequences: int = field(default=1, metadata={"help": "Plot the K best hypotheses (needs K <= beams)."})
    max_new_tokens: int | None = field(
        default=None, metadata={"help": "Most generated tokens (default: the model's generation_config)."}
    )
    layer: int | None = field(default=None, metadata={"help": "Decoder layer to show, 0-based (default: the mean)."})
    head: int | None = field(default=None, metadata={"help": "Attention head to show, 0-based (default: the mean)."})
    device: str = field(default="cpu", metadata={"help": "'cpu', or 'cuda' / 'cuda:1' for a GPU."})

    def __post_init__(self):
        for name in ("num_beams", "max_new_tokens", "num_return_sequences"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be at least 1, got {value}.")
        if Path(self.output).suffix.lower() not in PLOT_FORMATS:
            raise ValueError(f"--output {self.output}: name a file ending in one of {', '.join(PLOT_FORMATS)}.")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"--device {self.device} was asked for, but torch sees no CUDA GPU; use --device cpu.")


@dataclass
class PlottedHypothesis:
    """One hypothesis: its text, its Pharaoh alignment and the heatmap file written."""

    translation: str
    alignment: str
    path: Path


def parse_arguments(argv: list[str]) -> tuple[PlotAttentionArguments, str]:
    """Parse `argv` into the options and the sentence."""
    parser = HfArgumentParser(PlotAttentionArguments)
    parser.add_argument("text", metavar="TEXT", help="The sentence to translate.")
    arguments, positional = parser.parse_args_into_dataclasses(args=argv)
    if not positional.text.strip():
        raise ValueError("The sentence is blank: pass the text to translate.")
    return arguments, positional.text


def output_paths(output: str, count: int) -> list[Path]:
    """`output` itself for one hypothesis, else `stem-1.suffix` ... `stem-K.suffix` next to it."""
    path = Path(output)
    return [path] if count == 1 else [path.with_name(f"{path.stem}-{k}{path.suffix}") for k in range(1, count + 1)]


def main(argv: list[str]) -> list[PlottedHypothesis]:
    arguments, text = parse_arguments(argv)
    model, source_tokenizer, target_tokenizer = load_translator(arguments.model, arguments.device)
    beams = arguments.num_beams or model.generation_config.num_beams or 1  # None in a fresh generation_config: 1
    if arguments.num_return_sequences > beams:
        raise ValueError(f"--num_return_sequences {arguments.num_return_sequences} needs at least as many beams; "
                         f"the search has {beams}: pass --num_beams {arguments.num_return_sequences} or more.")
    batch = source_tokenizer([text], return_tensors="pt")
    generate_kwargs = {"num_beams": arguments.num_beams, "max_new_tokens": arguments.max_new_tokens,
                       "num_return_sequences": arguments.num_return_sequences}
    _, hypotheses = generate_with_attention(
        model, batch["input_ids"].to(model.device), batch["attention_mask"].to(model.device),
        **{name: value for name, value in generate_kwargs.items() if value is not None},
    )
    layers, heads = hypotheses[0].weights.shape[:2]
    shown = []  # which map, where there is a choice (an RNN has one layer and one head)
    if layers > 1:
        shown.append("mean over layers" if arguments.layer is None else f"layer {arguments.layer}")
    if heads > 1:
        shown.append("mean over heads" if arguments.head is None else f"head {arguments.head}")
    plotted = []
    for rank, (hypothesis, path) in enumerate(zip(hypotheses, output_paths(arguments.output, len(hypotheses))), 1):
        weights = select_attention(hypothesis.weights, arguments.layer, arguments.head)
        translation = target_tokenizer.decode(hypothesis.target_ids, skip_special_tokens=True)
        caption = ", ".join([f"{Path(arguments.model).name}: hypothesis {rank} of {len(hypotheses)}", *shown])
        title = f"{text}  →  {translation}\n{caption}"
        plot_attention(weights, readable_tokens(source_tokenizer, hypothesis.source_ids),
                       readable_tokens(target_tokenizer, hypothesis.target_ids), path, title=title)
        plotted.append(PlottedHypothesis(translation, hypothesis.alignment(arguments.layer, arguments.head), path))
        print(f"{translation} ||| {plotted[-1].alignment}")
        print(f"wrote {path}", file=sys.stderr)
    return plotted


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ValueError, OSError, ImportError) as error:  # bad options, input or model: the message says what to fix
        sys.exit(f"plot_attention.py: error: {error}")
