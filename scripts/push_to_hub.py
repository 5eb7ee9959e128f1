"""Upload a trained folder to the Hugging Face Hub: weights (safetensors), config, the model code for
`trust_remote_code=True` loading, the tokenizer(s), and the model card with its usage snippet pointing at the repo.

    huggingface-cli login      # or export HF_TOKEN=...
    python scripts/push_to_hub.py --model runs/dates --repo_id <user>/dates-rnn
    python scripts/push_to_hub.py --model runs/multi30k-transformer --repo_id <user>/multi30k-transformer --private
    python scripts/push_to_hub.py --model runs/shapes --repo_id <user>/shapes-show-attend-tell   # a captioner

Anyone can then load it without this package:

    AutoModelForSeq2SeqLM.from_pretrained("<user>/dates-rnn", trust_remote_code=True)
    AutoModelForImageTextToText.from_pretrained("<user>/shapes-show-attend-tell", trust_remote_code=True)

The Hub endpoint comes from huggingface_hub (`HF_ENDPOINT`, default https://huggingface.co).
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path

import transformers
from huggingface_hub import HfApi
from transformers import AutoConfig, AutoProcessor, HfArgumentParser

import hf_attention_zoo  # noqa: F401  (registers the families, so the local classes load)
from hf_attention_zoo.registry import family_of

from hf_attention_zoo.hub.model_card import update_model_card
from hf_attention_zoo.data.subword_tokenizer import TARGET_TOKENIZER_SUBFOLDER, load_tokenizers
from hf_attention_zoo.data.translation_task import TASK_FILE

# Besides what model.push_to_hub and tokenizer.push_to_hub write: the card, the task and the evaluation reports.
EXTRA_FILES = ["README.md", TASK_FILE, "train_summary.json", "eval_*.json", f"{TARGET_TOKENIZER_SUBFOLDER}/*",
               "results.md", "results.json", "attention/*.png"]


@dataclass
class PushArguments:
    model: str = field(metadata={"help": "A folder saved by scripts/train.py (and scored by scripts/evaluate_model.py)."})
    repo_id: str = field(metadata={"help": "The Hub repository, <user or organisation>/<name>."})
    private: bool = field(default=False, metadata={"help": "Create the repository as private."})
    commit_message: str = field(default="Upload hf_attention_zoo model", metadata={"help": "The commit message."})


def main(argv: list[str]) -> str:
    (args,) = HfArgumentParser(PushArguments).parse_args_into_dataclasses(args=argv)
    folder = Path(args.model)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json; pass a folder saved by scripts/train.py.")
    if args.repo_id.count("/") != 1:
        raise ValueError(f"--repo_id {args.repo_id!r} must be <user or organisation>/<name>.")
    # The family's head Auto class: AutoModelForSeq2SeqLM, or AutoModelForImageTextToText for the captioner.
    auto_class = getattr(transformers, family_of(AutoConfig.from_pretrained(folder)).auto_class)
    model = auto_class.from_pretrained(folder)
    # A captioner's folder holds its processor (image processor and tokenizer); a translator's its tokenizer(s).
    tokenizer = AutoProcessor.from_pretrained(folder) if (folder / "processor_config.json").is_file() else (
        load_tokenizers(folder)[0])
    # The card's usage snippet loads from the repository, not from the local path.
    update_model_card(folder, repo_id=args.repo_id)

    # save_pretrained inside push_to_hub writes the model's code files and auto_map (register_for_auto_class), so
    # the repository loads with trust_remote_code=True where the package is not installed.
    model.push_to_hub(args.repo_id, private=args.private, commit_message=args.commit_message)
    tokenizer.push_to_hub(args.repo_id, commit_message=f"{args.commit_message} (tokenizer)")
    # Last, so that this card replaces the stub transformers writes with the model.
    HfApi().upload_folder(repo_id=args.repo_id, folder_path=folder, allow_patterns=EXTRA_FILES,
                          commit_message=f"{args.commit_message} (model card, task, evaluation)")
    print(f"[push_to_hub] {folder} -> {args.repo_id}")
    return args.repo_id


if __name__ == "__main__":
    main(sys.argv[1:])
