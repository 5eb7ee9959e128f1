#!/usr/bin/env bash
# Rewrite requirements.lock from the newest releases that setup.cfg's ranges admit:
#   bash scripts/refresh_lock.sh && bash scripts/test.sh && git commit requirements.lock
# It installs torch (the lock's current version, or TORCH_VERSION) and `-e ".[test,plot]"` into a temporary
# virtual environment and writes what pip installed, pinned exactly, without this package itself. Commit the new
# lock only after the three test stages pass with it.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_PYTHON=${BASE_PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-$(sed -n 's/^torch==\([^ ;]*\).*/\1/p' requirements.lock 2>/dev/null || true)}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$BASE_PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q "torch==$TORCH_VERSION"
echo "torch==$TORCH_VERSION" > "$venv/torch.txt"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -c "$venv/torch.txt" -e ".[test,plot]"
{
  echo "# The tested set: bash scripts/install.sh installs exactly these versions (pip constraints format)."
  echo "# Written by scripts/refresh_lock.sh on $(date -u +%Y-%m-%d) with $("$venv/bin/python" --version); refresh it with that script."
  "$venv/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable \
    | grep -v '^hf.attention.zoo' | sed 's/^torch==\([^+]*\)+.*/torch==\1/' | LC_ALL=C sort -f
} > requirements.lock
echo "[refresh_lock] wrote requirements.lock:"
grep -iE '^(torch|transformers|accelerate|datasets|evaluate|tokenizers|huggingface.hub|safetensors|sacrebleu|ctranslate2)==' requirements.lock
