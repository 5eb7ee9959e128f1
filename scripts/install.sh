#!/usr/bin/env bash
# Set-up on a fresh machine, run by scripts/quickstart.sh and scripts/test.sh (and so by .ci/run):
#   bash scripts/install.sh            # torch (only when missing), then this package with its test extra
#
# torch is installed first, at TORCH_VERSION, and only when it is missing; an installed torch is pinned with a
# constraints file so that pip never replaces it (a bare `pip install torch` on a CPU machine can pull several
# GB of CUDA packages).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "[install] torch is missing: installing torch==$TORCH_VERSION"
  "$PYTHON" -m pip install --disable-pip-version-check -q "torch==$TORCH_VERSION"
fi
installed_torch=$("$PYTHON" -c "import torch; print(torch.__version__)")

# Skip pip when this exact set-up already ran (same setup.cfg, same torch, package importable).
mkdir -p .cache
stamp=".cache/install.stamp"
want="$(cat setup.cfg | sha256sum | cut -c1-16) torch=$installed_torch"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PYTHON" -c "import hf_attention_zoo, pytest" 2>/dev/null; then
  exit 0
fi
constraints=$(mktemp)
echo "torch==$installed_torch" > "$constraints"
echo "[install] installing hf_attention_zoo and its dependencies (torch stays at $installed_torch)"
"$PYTHON" -m pip install --disable-pip-version-check -q -c "$constraints" -e ".[test]"
rm -f "$constraints"
echo "$want" > "$stamp"
