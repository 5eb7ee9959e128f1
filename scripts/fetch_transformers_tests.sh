#!/usr/bin/env bash
# Fetch transformers' own common model tests (ModelTesterMixin, ConfigTester) for the INSTALLED transformers version,
# so that tests/transformers_common can run them against this project's models:
#   bash scripts/fetch_transformers_tests.sh
#
# The wheel ships no tests; the source distribution does. This downloads the sdist of exactly the installed version
# (`pip download --no-deps --no-binary :all: transformers==<version>`), extracts tests/test_modeling_common.py,
# tests/test_configuration_common.py and every file they import relatively that the sdist contains, into
# .cache/transformers-tests/<version>/transformers_sdist_tests/ (a package name that cannot clash with our `tests`).
# Imports the sdist lacks get stand-ins in tests/transformers_common/standins.py.
# Idempotent: exits at once when that version is already complete. Without network it warns and exits 0; the common
# tests then skip with a reason naming this command. It also installs `parameterized` (imported by
# test_modeling_common.py) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

version=$("$PYTHON" -c "import transformers; print(transformers.__version__)")
dest=".cache/transformers-tests/$version"
marker="$dest/COMPLETE"

if ! "$PYTHON" -c "import parameterized" 2>/dev/null; then
  echo "[fetch_transformers_tests] installing parameterized (imported by transformers' test_modeling_common.py)"
  "$PYTHON" -m pip install --disable-pip-version-check -q parameterized \
    || echo "[fetch_transformers_tests] WARNING: could not install parameterized; transformers' common tests will skip" >&2
fi

if [ -f "$marker" ]; then
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[fetch_transformers_tests] downloading the transformers==$version source distribution (about 10 MB)"
if ! "$PYTHON" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
    "transformers==$version" -d "$tmp/sdist" >"$tmp/pip.log" 2>&1; then
  tail -n 5 "$tmp/pip.log" >&2 || true
  echo "[fetch_transformers_tests] WARNING: could not download the transformers==$version sdist (no network?)." >&2
  echo "[fetch_transformers_tests] transformers' common model tests will be SKIPPED; rerun this script with network." >&2
  exit 0
fi

# Extract the two entry files and, transitively, every `from .x.y import` target present in the sdist.
"$PYTHON" - "$tmp/sdist" "$tmp/out" "$version" <<'PY'
import re
import sys
import tarfile
from pathlib import Path

sdist_dir, out_dir, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
(archive,) = sdist_dir.glob("transformers-*.tar.gz")
package = out_dir / "transformers_sdist_tests"
package.mkdir(parents=True)
relative_import = re.compile(r"^\s*from (\.+)([\w.]*) import", re.MULTILINE)

with tarfile.open(archive) as tar:
    members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if m.isfile() and "/" in m.name}
    todo, done, missing = ["tests/test_modeling_common.py", "tests/test_configuration_common.py"], set(), set()
    while todo:
        path = todo.pop()
        if path in done:
            continue
        if path not in members:
            missing.add(path)
            continue
        done.add(path)
        text = tar.extractfile(members[path]).read().decode("utf-8")
        target = package / Path(path).relative_to("tests")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        for dots, module in relative_import.findall(text):
            base = Path(path).parent
            for _ in range(len(dots) - 1):
                base = base.parent
            todo.append(str(base / module.replace(".", "/")) + ".py")
    if "LICENSE" in members:
        (out_dir / "LICENSE").write_bytes(tar.extractfile(members["LICENSE"]).read())

# Package markers, so the files import as `transformers_sdist_tests.*` (test_configuration_common.py also execs
# its folder's __init__.py through `direct_transformers_import`, which must therefore exist).
for folder in [package, *{p.parent for p in package.rglob("*.py")}]:
    init = folder / "__init__.py"
    if not init.exists():
        init.write_text("# Written by scripts/fetch_transformers_tests.sh: tests from the transformers sdist.\n")
print(f"[fetch_transformers_tests] extracted {sorted(done)}")
print(f"[fetch_transformers_tests] not in the sdist (stand-ins in tests/transformers_common): {sorted(missing)}")
(out_dir / "COMPLETE").write_text(f"transformers=={version} from {archive.name}\n")
PY

# Publish atomically: the marker exists only in a complete copy.
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/out" "$dest"
echo "[fetch_transformers_tests] transformers $version common tests are in $dest"
