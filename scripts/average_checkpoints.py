"""Average the weights of several checkpoints of one run into a new model folder (Vaswani et al. §6.1,
arXiv:1706.03762: the base models average the last 5 checkpoints, the big ones the last 20). Save checkpoints while
training and keep enough of them; scripts/train.py --average_last_k K does the averaging at the end of training instead.

    python scripts/train.py --family transformer --preset small --output_dir runs/dates-transformer \\
        --load_best_model_at_end false --save_total_limit 0
    python scripts/average_checkpoints.py --last 5 --run_dir runs/dates-transformer --output_dir runs/dates-avg5
    python scripts/average_checkpoints.py --around_best 5 --run_dir runs/dates-transformer --output_dir runs/dates-best5
    python scripts/average_checkpoints.py --checkpoints runs/a/checkpoint-800 runs/a/checkpoint-900 \\
        runs/a/checkpoint-1000 --output_dir runs/a-avg3
    python scripts/evaluate_model.py --model runs/dates-avg5

The output folder is a normal model folder (weights, config, generation config, model code, tokenizer(s),
zoo_task.json) that loads with AutoModelForSeq2SeqLM.from_pretrained; checkpoint_averaging.json in it lists the
averaged checkpoints. The run's model card, when it has one, is re-rendered for the average (without the old results,
which described other weights), so evaluate_model.py and push_to_hub.py work on the output.
"""

import json
import sys
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_attention_zoo.training.checkpoint_averaging import (
    RECORD_FILE,
    average_checkpoints,
    find_checkpoints_around_best,
    find_last_checkpoints,
)


@dataclass
class AveragingArguments:
    output_dir: str = field(metadata={"help": "The averaged model folder to write (new or empty)."})
    checkpoints: list[str] | None = field(
        default=None, metadata={"help": "The model or checkpoint folders to average (at least 2)."}
    )
    last: int | None = field(
        default=None, metadata={"help": "Average the last K checkpoint-<step> folders of --run_dir."}
    )
    around_best: int | None = field(
        default=None, metadata={"help": "Average the K checkpoint-<step> folders of --run_dir centred on the best one "
                                        "(Trainer's choice on validation)."}
    )
    run_dir: str | None = field(
        default=None, metadata={"help": "With --last or --around_best: the --output_dir of a training run."}
    )


def main(argv: list[str]) -> str:
    (args,) = HfArgumentParser(AveragingArguments).parse_args_into_dataclasses(args=argv)
    chosen = [args.checkpoints is not None, args.last is not None, args.around_best is not None]
    if sum(chosen) != 1:
        raise ValueError("Pass one of --checkpoints FOLDER FOLDER ..., --last K --run_dir RUN or --around_best K "
                         "--run_dir RUN.")
    for flag, k in (("--last", args.last), ("--around_best", args.around_best)):
        if k is not None and args.run_dir is None:
            raise ValueError(f"{flag} {k} needs --run_dir, the training run whose checkpoints to average.")
    if args.checkpoints is not None and args.run_dir is not None:
        raise ValueError("--run_dir goes with --last or --around_best; with --checkpoints, list the folders themselves.")
    if args.last is not None:
        folders = find_last_checkpoints(args.run_dir, args.last)
    elif args.around_best is not None:
        folders = find_checkpoints_around_best(args.run_dir, args.around_best)
    else:
        folders = args.checkpoints
    output_dir = average_checkpoints(folders, args.output_dir)

    record = json.loads((output_dir / RECORD_FILE).read_text())
    print(f"[average_checkpoints] the mean of {len(folders)} checkpoints:")
    for folder in record["averaged_checkpoints"]:
        print(f"  {folder}")
    tokenizer = record["tokenizer_from"] or "nowhere: none was found, so none was saved"
    print(f"written to {output_dir}; tokenizer from {tokenizer}")
    return str(output_dir)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ValueError, OSError) as error:
        sys.exit(f"average_checkpoints.py: error: {error}")
