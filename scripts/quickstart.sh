#!/usr/bin/env bash
# The main job of the README, the whole workflow on the built-in synthetic dates task (no downloads): set-up (the
# locked set, in .venv), train a small RNN with Bahdanau attention (best checkpoint by validation BLEU, model
# card), evaluate the test split with beam search (sacreBLEU, chrF, perplexity), translate a few dates with the
# saved model, and draw the attention map of one translation (attention.png in the output folder).
#   bash scripts/quickstart.sh
#   bash scripts/quickstart.sh --family transformer --preset small --output_dir runs/dates-transformer
# Extra arguments go to scripts/train.py. Publishing is one more command: scripts/push_to_hub.py (needs a login).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
PYTHON=.venv/bin/python

output_dir=runs/dates
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[i]}" = "--output_dir" ] && [ $((i + 1)) -lt ${#args[@]} ]; then output_dir=${args[i + 1]}; fi
done
"$PYTHON" scripts/train.py "$@"
"$PYTHON" scripts/evaluate_model.py --model "$output_dir" --num_beams 4
"$PYTHON" scripts/translate.py --model "$output_dir" "Tuesday 9 May 1989" "9/5/89" "the 1st of January 2000"
"$PYTHON" scripts/plot_attention.py --model "$output_dir" --output "$output_dir/attention.png" --num_beams 4 "Tuesday 9 May 1989"
