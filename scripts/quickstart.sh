#!/usr/bin/env bash
# The main job of the README: set-up, then train a small RNN with Bahdanau attention on the built-in synthetic
# dates task (no downloads), print sample translations and the test accuracy, and save the model to runs/dates.
#   bash scripts/quickstart.sh
#   bash scripts/quickstart.sh --family transformer --preset small   # extra arguments go to scripts/train.py
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
bash scripts/install.sh
exec "$PYTHON" scripts/train.py "$@"
