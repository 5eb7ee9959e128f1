#!/usr/bin/env bash
# Set-up on a fresh machine, run by scripts/quickstart.sh and scripts/test.sh (and so by .ci/run):
#   bash scripts/install.sh            # the locked set (requirements.lock) into .venv
#   bash scripts/install.sh newest     # the newest releases the declared ranges allow, into .venv-newest
#   bash scripts/install.sh floor      # the oldest releases the declared ranges allow (scripts/floor-constraints.txt), into .venv-floor
# Then: source .venv/bin/activate (or call .venv/bin/python directly).
#
# Each set gets a virtual environment of its own (VENV=path overrides the place), made with $BASE_PYTHON (python3).
# torch is installed first, at the version requirements.lock names, and only when the environment has none: a bare
# `pip install torch` on a CPU machine can pull several GB of CUDA packages. An installed torch is pinned with a
# constraints file, so pip never replaces it, in every set.
# The package goes in editable, with the extras the tests and tools import: pip install -e ".[test,plot]".
set -euo pipefail
cd "$(dirname "$0")/.."
set_name=${1:-lock}
BASE_PYTHON=${BASE_PYTHON:-python3}
case "$set_name" in
  lock) default_venv=.venv ;;
  newest | floor) default_venv=.venv-$set_name ;;
  *) echo "[install] unknown set '$set_name': use lock, newest or floor" >&2; exit 2 ;;
esac
VENV=${VENV:-$default_venv}
lock_torch=$(sed -n 's/^torch==\([^ ;]*\).*/\1/p' requirements.lock)
TORCH_VERSION=${TORCH_VERSION:-$lock_torch}
pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@"; }

if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating the virtual environment $VENV"
  "$BASE_PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "[install] torch is missing in $VENV: installing torch==$TORCH_VERSION"
  pip_install "torch==$TORCH_VERSION"
fi
installed_torch=$("$VENV/bin/python" -c "import torch; print(torch.__version__.split('+')[0])" 2>/dev/null)
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==$installed_torch" > "$constraints"

case "$set_name" in
  lock)
    # The lock pins torch too; an environment that already has another torch keeps it (with a warning).
    if [ "$installed_torch" != "$lock_torch" ]; then
      echo "[install] WARNING: $VENV has torch $installed_torch, the lock was tested with $lock_torch; keeping $installed_torch" >&2
    fi
    grep -v '^torch==' requirements.lock >> "$constraints"
    want="lock $(cat setup.cfg requirements.lock | sha256sum | cut -c1-16) torch=$installed_torch"
    ;;
  floor)
    cat scripts/floor-constraints.txt >> "$constraints"
    want="floor $(cat setup.cfg scripts/floor-constraints.txt | sha256sum | cut -c1-16) torch=$installed_torch"
    ;;
  newest)
    want=""  # never skipped: every run asks the index for the newest releases
    ;;
esac

stamp="$VENV/.hf_attention_zoo-install"
if [ -n "$want" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && "$VENV/bin/python" -c "import hf_attention_zoo, pytest" 2>/dev/null; then
  exit 0
fi
echo "[install] installing hf_attention_zoo and its dependencies into $VENV ($set_name set; torch stays at $installed_torch)"
if [ "$set_name" = newest ]; then
  pip_install --upgrade --upgrade-strategy eager -c "$constraints" -e ".[test,plot]"
else
  pip_install -c "$constraints" -e ".[test,plot]"
fi
"$VENV/bin/python" - <<'PY'
from importlib.metadata import version
names = ["torch", "transformers", "accelerate", "datasets", "evaluate", "tokenizers", "huggingface_hub",
         "safetensors", "sacrebleu", "ctranslate2"]
print("[install] " + ", ".join(f"{name} {version(name)}" for name in names))
PY
if [ -n "$want" ]; then echo "$want" > "$stamp"; fi
