"""Translate text with a saved model folder or a Hub model: from the command line, a file, or stdin.

    python scripts/translate.py --model runs/dates "Tuesday 9 May 1989" "9/5/89"
    python scripts/translate.py --model runs/dates --input_file test.human --output_file test.hyp --num_beams 4
    printf '9 May 1989\\nMay 9th, 1989\\n' | python scripts/translate.py --model runs/dates
    python scripts/translate.py --model runs/dates --device cuda --batch_size 128 --input_file test.human
    python scripts/translate.py --model owner/name --trust_remote_code true "9 May 1989"
    python scripts/translate.py --model runs/dates --print_alignments "Tuesday 9 May 1989"   # 1989-05-09 ||| 16-0 16-1 16-2 ...

Texts given as arguments are translated; otherwise `--input_file` (one sentence per line); otherwise stdin. The
output has one line per input line, in order, printed or written to `--output_file`. An empty (or all-blank) input
line gives an empty output line without reaching the model, so the output stays aligned with the input file (what
scoring against a reference file needs) and the model does not invent a sentence for nothing.

The translation itself is the library's `hf_attention_zoo.generation.translate` (length-sorted batches through the
zoo's translation pipeline; with separate vocabularies the output is decoded with the target tokenizer saved in
`target_tokenizer/`). `--trust_remote_code true` instead runs `transformers.pipeline(model=..., trust_remote_code=True)`:
the model code and the pipeline saved with the model (`pipeline_translation.py`), without importing the package, so
the script then runs where only transformers is installed.

`--print_alignments` prints each translation followed by ` ||| ` and its hard alignment in the Pharaoh format that
fast_align and fairseq print ("i-j": source token i, target token j, 0-based, one link per target token to the source
token it attends to most, the cross-attention averaged over layers and heads; end-of-sequence tokens left out; see
`hf_attention_zoo.evaluation.attention_maps`). The indices count tokens (characters or subwords), not words. A blank
input line then gives " ||| ".
"""

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TextIO

import torch
from transformers import HfArgumentParser


@dataclass
class TranslateArguments:
    """The options of the script; the texts to translate are positional arguments (see `parse_arguments`)."""

    model: str = field(metadata={"help": "A folder saved by save_pretrained / Trainer.save_model, or a Hub id."})
    input_file: str | None = field(default=None, metadata={"help": "Translate this file, one sentence per line."})
    output_file: str | None = field(default=None, metadata={"help": "Write the translations here, not to stdout."})
    num_beams: int | None = field(
        default=None, metadata={"help": "Beam size (default: the model's generation_config)."}
    )
    max_new_tokens: int | None = field(
        default=None, metadata={"help": "Most generated tokens per sentence (default: the model's generation_config)."}
    )
    batch_size: int = field(default=32, metadata={"help": "Sentences per generate() call."})
    device: str = field(default="cpu", metadata={"help": "'cpu', or 'cuda' / 'cuda:1' for a GPU."})
    trust_remote_code: bool = field(
        default=False, metadata={"help": "Load the model code saved with the model instead of the installed package."}
    )
    # A plain switch, added to the parser in `parse_arguments`: a dataclass bool would take an optional value and
    # swallow the text after it (`--print_alignments "9 May 1989"`).
    print_alignments: bool = field(
        default=False,
        init=False,
        metadata={"help": "Print 'translation ||| alignment': the Pharaoh 'i-j' pairs of fast_align / fairseq (source "
                          "token i, target token j, 0-based; tokens, not words; eos left out), from the argmax of the "
                          "cross-attention averaged over layers and heads. Not with --trust_remote_code."},
    )

    def __post_init__(self):
        for name in ("num_beams", "max_new_tokens", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be at least 1, got {value}.")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"--device {self.device} was asked for, but torch sees no CUDA GPU; use --device cpu.")


def parse_arguments(argv: list[str]) -> tuple[TranslateArguments, list[str]]:
    """Parse `argv` into the options and the texts given as positional arguments."""
    parser = HfArgumentParser(TranslateArguments)
    # A positional list is not a dataclass field type HfArgumentParser knows; it returns it in a second namespace.
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="Sentences to translate (else --input_file or stdin).")
    help_text = next(f for f in fields(TranslateArguments) if f.name == "print_alignments").metadata["help"]
    parser.add_argument("--print_alignments", action="store_true", help=help_text)
    arguments, positional = parser.parse_args_into_dataclasses(args=argv)
    arguments.print_alignments = positional.print_alignments
    if arguments.print_alignments and arguments.trust_remote_code:
        raise ValueError("--print_alignments needs the hf_attention_zoo package (the attention maps are traced there), "
                         "which --trust_remote_code true does without; drop one of them.")
    return arguments, positional.texts


def read_sources(arguments: TranslateArguments, texts: list[str], stdin: TextIO) -> list[str]:
    """The sentences to translate: `texts` if any, else the lines of `--input_file`, else the lines of `stdin`."""
    if texts and arguments.input_file:
        raise ValueError(
            f"Got {len(texts)} text argument(s) and --input_file {arguments.input_file}; pass one or the other."
        )
    if texts:
        return texts
    if arguments.input_file:
        path = Path(arguments.input_file)
        if not path.is_file():
            raise FileNotFoundError(f"--input_file {arguments.input_file}: no such file.")
        with path.open(encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle]
    return [line.rstrip("\n") for line in stdin]


def main(argv: list[str], stdin: TextIO | None = None) -> list[str]:
    """Translate as the options say and print or write the output lines; returns them (the translations, or with
    --print_alignments the `translation ||| alignment` lines)."""
    arguments, texts = parse_arguments(argv)
    sources = read_sources(arguments, texts, sys.stdin if stdin is None else stdin)
    generate_kwargs = {"num_beams": arguments.num_beams, "max_new_tokens": arguments.max_new_tokens}
    if arguments.trust_remote_code:
        # The saved model code and pipeline (the folder's or Hub repo's), without the package.
        from transformers import pipeline

        translator = pipeline(model=arguments.model, trust_remote_code=True, device=arguments.device)
        generate_kwargs = {name: value for name, value in generate_kwargs.items() if value is not None}
        results = translator(sources, batch_size=arguments.batch_size, **generate_kwargs) if sources else []
        translations = [result["translation_text"] for result in results]
    else:
        try:
            from hf_attention_zoo.generation.translate import load_translator, translate
        except ImportError as error:
            raise ImportError(
                f"hf_attention_zoo cannot be imported ({error}); install it (pip install -e .) or pass "
                "--trust_remote_code true to run the model code saved with the model."
            ) from error

        model, source_tokenizer, target_tokenizer = load_translator(arguments.model, arguments.device)
        if arguments.print_alignments:
            from hf_attention_zoo.evaluation.attention_maps import translate_with_alignments

            aligned = translate_with_alignments(model, source_tokenizer, target_tokenizer, sources,
                                                arguments.batch_size, **generate_kwargs)
            translations = [f"{translation} ||| {alignment}" for translation, alignment in aligned]
        else:
            translations = translate(model, source_tokenizer, target_tokenizer, sources, arguments.batch_size,
                                     **generate_kwargs)
    if arguments.output_file:
        Path(arguments.output_file).write_text("".join(f"{line}\n" for line in translations), encoding="utf-8")
    else:
        for line in translations:
            print(line)
    return translations


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ValueError, OSError, ImportError) as error:  # bad options, input or model: the message says what to fix
        sys.exit(f"translate.py: error: {error}")
