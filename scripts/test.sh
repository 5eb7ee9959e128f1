#!/usr/bin/env bash
# The test command of the README (and of .ci/run): set-up, then the whole test suite.
#   bash scripts/test.sh                 # everything (about 10 minutes on a 2-core CPU)
#   bash scripts/test.sh -k rnn -x       # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
bash scripts/install.sh
bash scripts/fetch_transformers_tests.sh
exec "$PYTHON" -m pytest "$@"
