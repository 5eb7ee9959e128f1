#!/usr/bin/env bash
# The test command of the README (and of .ci/run): set-up, then the whole test suite in three stages, each in a
# virtual environment of its own (scripts/install.sh):
#   lock    the exact tested set of requirements.lock                       (.venv)
#   newest  the newest releases that setup.cfg's ranges admit, fetched now  (.venv-newest)
#   floor   the oldest releases those ranges admit, scripts/floor-constraints.txt  (.venv-floor)
# Every stage must pass. Usage:
#   bash scripts/test.sh                          # all three stages (about 15 minutes on a 2-core CPU)
#   bash scripts/test.sh --stages lock -k rnn -x  # chosen stages; the other arguments go to pytest
# Each stage also runs the cross-version remote-code tests (tests/models/test_cross_version.py), which save a model under
# this stage's transformers and load it under the other stages' (they skip where that environment is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
stages=(lock newest floor)
if [ "${1:-}" = "--stages" ]; then
  IFS=, read -r -a stages <<< "${2:?--stages needs a comma-separated list: lock,newest,floor}"
  shift 2
fi

declare -A venv=([lock]=.venv [newest]=.venv-newest [floor]=.venv-floor)
summary=() failed=0
for stage in "${stages[@]}"; do
  [ -n "${venv[$stage]:-}" ] || { echo "unknown stage '$stage': use lock, newest or floor" >&2; exit 2; }
  echo "=== stage $stage: set-up (${venv[$stage]}) ==="
  start=$SECONDS
  bash scripts/install.sh "$stage"
  python="${venv[$stage]}/bin/python"
  PYTHON="$python" bash scripts/fetch_transformers_tests.sh
  versions=$("$python" -c "import transformers, torch; print(f'transformers {transformers.__version__}, torch {torch.__version__}')")
  setup_s=$((SECONDS - start))
  echo "=== stage $stage: pytest ($versions) ==="
  status=0
  ZOO_TEST_STAGE=$stage "$python" -m pytest "$@" || status=$?
  summary+=("$(printf '%-7s %-6s set-up %4ss, tests %4ss  (%s)' "$stage" "$([ $status -eq 0 ] && echo passed || echo FAILED)" "$setup_s" "$((SECONDS - start - setup_s))" "$versions")")
  [ $status -eq 0 ] || failed=1
done
echo "=== stages ==="
printf '%s\n' "${summary[@]}"
exit $failed
