"""Import a program of scripts/ as a module, to call its `main(argv)` in the test process."""

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str):
    """scripts/<name>.py as a fresh module (registered in sys.modules: dataclasses look their module up while
    building the class)."""
    spec = importlib.util.spec_from_file_location(f"{name}_script_under_test", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
