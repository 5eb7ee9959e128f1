#!/usr/bin/env bash
# Train several Multi30k recipes at once on one GPU (or CPU), then score them: the H200 rows of the README's results.
#
#   bash scripts/train_recipes_on_one_gpu.sh MINUTES RECIPE:DIRECTION [RECIPE:DIRECTION ...]
#   bash scripts/train_recipes_on_one_gpu.sh 6 multi30k-transformer-small:de-en multi30k-bahdanau-gru:en-de
#
# Run it from the repository's root, as the recipes' relative paths (../shared/data/multi30k, runs/) assume.
# 1. Every RECIPE:DIRECTION runs `python scripts/train.py --recipe RECIPE --direction DIRECTION --max_train_minutes
#    MINUTES` in a process of its own, all at once (a small model leaves most of a large GPU idle). Each writes
#    runs/<recipe>-<direction>/ as the recipe says, and its log to runs/logs/<recipe>-<direction>.log. On an NVIDIA
#    GPU, start CUDA MPS first (`nvidia-cuda-mps-control -d`) so that the processes' kernels can overlap.
# 2. A run that kept its checkpoints (the Transformer recipes keep all of them) is also averaged two ways:
#    `--around_best 5` and `--last 5` (scripts/average_checkpoints.py).
# 3. Every model folder (each run's best checkpoint, and the averages) is scored by scripts/evaluate_model.py with
#    beam 5 on validation, test (test_2016_flickr) and test_2017; the folders are scored in parallel, their splits
#    one after another.
# 4. runs/logs/choice.json names, for each run, the candidate with the highest validation BLEU: the rule is fixed
#    here, before any test score is read, and the test scores of the other candidates are reported beside it.
#
# OMP_NUM_THREADS defaults to 2 per process. TRAIN_FLAGS and EVAL_FLAGS add flags to every train.py and
# evaluate_model.py call (the test suite runs this script on a slice of the data that way); EVAL_SPLITS overrides the
# splits ("validation test test_2017"). PYTHON picks the interpreter (default python).
set -uo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/train_recipes_on_one_gpu.sh MINUTES RECIPE:DIRECTION [RECIPE:DIRECTION ...]" >&2
  exit 2
fi
minutes=$1; shift
PYTHON=${PYTHON:-python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} PYTHONUNBUFFERED=1
read -r -a train_flags <<< "${TRAIN_FLAGS:-}"
read -r -a eval_flags <<< "${EVAL_FLAGS:-}"
read -r -a splits <<< "${EVAL_SPLITS:-validation test test_2017}"
mkdir -p runs/logs
started=$SECONDS

runs=()
for spec in "$@"; do
  recipe=${spec%%:*} direction=${spec#*:}
  if [ "$recipe" = "$spec" ] || [ -z "$direction" ]; then
    echo "[recipes] '$spec' is not RECIPE:DIRECTION, e.g. multi30k-bahdanau-gru:en-de" >&2
    exit 2
  fi
  name=${recipe%@*}-$direction
  runs+=("$name")
  echo "[recipes] training $recipe $direction -> runs/$name (log runs/logs/$name.log)"
  "$PYTHON" "$scripts"/train.py --recipe "$recipe" --direction "$direction" --max_train_minutes "$minutes" \
    "${train_flags[@]}" > "runs/logs/$name.log" 2>&1 &
done
failed=0
for job in $(jobs -p); do wait "$job" || failed=1; done
echo "[recipes] training done after $((SECONDS - started)) s"
for name in "${runs[@]}"; do
  grep -h "summary\|budget stopped\|Error" "runs/logs/$name.log" | sed "s|^|[recipes] $name: |" | head -5
done

# runs/logs/candidates.tsv lists every candidate model folder, each beside the run it belongs to: the scoring and the
# choice below read it rather than rebuilding the folder names.
: > runs/logs/candidates.tsv
add_candidate() { printf '%s\t%s\n' "$1" "$2" >> runs/logs/candidates.tsv; }
for name in "${runs[@]}"; do
  [ -f "runs/$name/config.json" ] || { echo "[recipes] runs/$name has no model: see runs/logs/$name.log" >&2; failed=1; continue; }
  add_candidate "$name" "runs/$name"
  if [ "$(find "runs/$name" -maxdepth 1 -name 'checkpoint-*' | wc -l)" -ge 5 ]; then
    "$PYTHON" "$scripts"/average_checkpoints.py --around_best 5 --run_dir "runs/$name" \
      --output_dir "runs/$name-avg5-around-best" >> "runs/logs/$name.log" 2>&1 \
      && add_candidate "$name" "runs/$name-avg5-around-best"
    "$PYTHON" "$scripts"/average_checkpoints.py --last 5 --run_dir "runs/$name" \
      --output_dir "runs/$name-avg5" >> "runs/logs/$name.log" 2>&1 && add_candidate "$name" "runs/$name-avg5"
  fi
done

while IFS=$'\t' read -r _ model; do
  (
    for split in "${splits[@]}"; do
      "$PYTHON" "$scripts"/evaluate_model.py --model "$model" --split "$split" --num_beams 5 "${eval_flags[@]}" \
        >> "runs/logs/$(basename "$model")-evaluate.log" 2>&1 || echo "[recipes] evaluating $model on $split failed" >&2
    done
  ) < /dev/null &
done < runs/logs/candidates.tsv
wait
echo "[recipes] evaluation done after $((SECONDS - started)) s"

"$PYTHON" - <<'EOF'
import json
from pathlib import Path

folders_of_run = {}
for line in Path("runs/logs/candidates.tsv").read_text().splitlines():
    name, folder = line.split("\t")
    folders_of_run.setdefault(name, []).append(Path(folder))
choice = {}
for name, folders in folders_of_run.items():
    scores = {}
    for folder in folders:
        reports = {split: json.loads(path.read_text()) for split in ("validation", "test", "test_2017")
                   if (path := folder / f"eval_{split}.json").is_file()}
        if reports:
            scores[str(folder)] = {split: report["results"] for split, report in reports.items()}
    scored = [folder for folder, s in scores.items() if "validation" in s]
    chosen = max(scored, key=lambda folder: scores[folder]["validation"]["sacrebleu"]) if scored else None
    choice[name] = {"chosen_on_validation": chosen, "candidates": scores}
    for folder, s in scores.items():
        line = "  ".join(f"{split} {m['sacrebleu']:.2f}" for split, m in s.items())
        print(f"[recipes] {'*' if folder == chosen else ' '} {folder}: {line}")
Path("runs/logs/choice.json").write_text(json.dumps(choice, indent=2) + "\n")
EOF
exit $failed
