"""Translate text with a saved model folder or a Hub model: from the command line, a file, or stdin.

    python scripts/translate.py --model runs/dates "Tuesday 9 May 1989" "9/5/89"
    python scripts/translate.py --model runs/dates --input_file test.human --output_file test.hyp --num_beams 4
    printf '9 May 1989\\nMay 9th, 1989\\n' | python scripts/translate.py --model runs/dates
    python scripts/translate.py --model runs/dates --device cuda --batch_size 128 --input_file test.human
    python scripts/translate.py --model owner/name --trust_remote_code true "9 May 1989"

Texts given as arguments are translated; otherwise `--input_file` (one sentence per line); otherwise stdin. The
output has one line per input line, in order, printed or written to `--output_file`. An empty (or all-blank) input
line gives an empty output line without reaching the model, so the output stays aligned with the input file (what
scoring against a reference file needs) and the model does not invent a sentence for nothing.

Why no `transformers.pipeline`: transformers 5 removed the "translation" and "text2text-generation" tasks
(`pipeline("translation", ...)` raises KeyError, see MIGRATION_GUIDE_V5.md#pipelines), and "text-generation"
loads only `AutoModelForCausalLM`. So this script batches, calls `model.generate()` and decodes itself, which is also
what separate vocabularies need: generated ids are decoded with the target tokenizer saved in `target_tokenizer/`
next to the model (`hf_attention_zoo.data.subword_tokenizer.save_tokenizers`), never with the source tokenizer.

By default the model classes come from the installed hf_attention_zoo. `--trust_remote_code true` loads the model
code saved with the model instead (the folder's or Hub repo's `modeling_*.py`) and does not import the package, so
the script then runs where only transformers is installed. (transformers 5.23 prefers a class registered with the
Auto classes, which importing the package does, to the saved code even when trust_remote_code=True.)
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    HfArgumentParser,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import has_file

# The saved-folder layout of hf_attention_zoo.data.subword_tokenizer.TARGET_TOKENIZER_SUBFOLDER (a test checks they agree),
# written out so that --trust_remote_code runs without the package.
TARGET_TOKENIZER_SUBFOLDER = "target_tokenizer"


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
    arguments, positional = parser.parse_args_into_dataclasses(args=argv)
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


def load_translator(
    model_name_or_path: str, trust_remote_code: bool, device: str
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, PreTrainedTokenizerBase]:
    """Load `(model, source_tokenizer, target_tokenizer)` from a folder or a Hub id.

    With a joint vocabulary both tokenizers are the same object; with separate vocabularies the target tokenizer
    is the one in the `target_tokenizer/` subfolder (checked locally or on the Hub). Without `trust_remote_code`
    this imports hf_attention_zoo, which registers its classes; with it, the saved code is used only if nothing
    in the process has imported the package (see the module docstring).
    """
    path = Path(model_name_or_path)
    # A Hub id is "name" or "owner/name"; anything else that does not exist is a mistyped folder, and saying so
    # beats transformers' attempt to download it from the Hub.
    looks_like_a_path = model_name_or_path.startswith((".", "/", "~")) or model_name_or_path.count("/") > 1
    if path.is_dir() and not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"--model {model_name_or_path}: the folder has no config.json; pass a folder written by "
            "model.save_pretrained or Trainer.save_model."
        )
    if not path.exists() and looks_like_a_path:
        raise FileNotFoundError(f"--model {model_name_or_path}: no such folder (a Hub id has the form owner/name).")

    if not trust_remote_code:
        try:
            import hf_attention_zoo  # noqa: F401  (registers the zoo models with the Auto classes)
        except ImportError as error:
            raise ImportError(
                f"hf_attention_zoo cannot be imported ({error}); install it (pip install -e .) or pass "
                "--trust_remote_code true to run the model code saved with the model."
            ) from error
    model = AutoModelForSeq2SeqLM.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code)
    # AutoTokenizer reads the config too, whose auto_map names the saved code: without the flag it would ask
    # on stdin whether to run it.
    source_tokenizer = AutoTokenizer.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code)
    target_tokenizer = source_tokenizer
    if has_file(model_name_or_path, f"{TARGET_TOKENIZER_SUBFOLDER}/tokenizer_config.json"):
        target_tokenizer = AutoTokenizer.from_pretrained(
            model_name_or_path, subfolder=TARGET_TOKENIZER_SUBFOLDER, trust_remote_code=trust_remote_code
        )
    return model.to(device).eval(), source_tokenizer, target_tokenizer


def translate(
    model: PreTrainedModel,
    source_tokenizer: PreTrainedTokenizerBase,
    target_tokenizer: PreTrainedTokenizerBase,
    sources: list[str],
    batch_size: int = 32,
    num_beams: int | None = None,
    max_new_tokens: int | None = None,
    length_penalty: float | None = None,
) -> list[str]:
    """Translate `sources` with `model.generate()` in batches of `batch_size`, decoding with `target_tokenizer`.

    Blank sources translate to "" without reaching the model. Sentences are batched in order of length, which
    keeps padding small, and returned in the order given. `num_beams` / `max_new_tokens` / `length_penalty` left
    at None take the model's `generation_config` values.
    """
    generate_kwargs = {name: value for name, value in (("num_beams", num_beams), ("max_new_tokens", max_new_tokens),
                                                       ("length_penalty", length_penalty)) if value is not None}
    translations = [""] * len(sources)
    nonblank = [index for index, text in enumerate(sources) if text.strip()]
    if not nonblank:  # the tokenizer cannot encode an empty list
        return translations
    encoded = source_tokenizer([sources[index] for index in nonblank])["input_ids"]
    order = sorted(range(len(nonblank)), key=lambda position: len(encoded[position]))
    for start in range(0, len(order), batch_size):
        positions = order[start:start + batch_size]
        batch = source_tokenizer.pad({"input_ids": [encoded[position] for position in positions]},
                                     return_tensors="pt").to(model.device)
        with torch.no_grad():
            generated = model.generate(**batch, **generate_kwargs)
        for position, text in zip(positions, target_tokenizer.batch_decode(generated, skip_special_tokens=True)):
            translations[nonblank[position]] = text
    return translations


def main(argv: list[str], stdin: TextIO | None = None) -> list[str]:
    arguments, texts = parse_arguments(argv)
    sources = read_sources(arguments, texts, sys.stdin if stdin is None else stdin)
    model, source_tokenizer, target_tokenizer = load_translator(
        arguments.model, arguments.trust_remote_code, arguments.device
    )
    translations = translate(model, source_tokenizer, target_tokenizer, sources, arguments.batch_size,
                             arguments.num_beams, arguments.max_new_tokens)
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
