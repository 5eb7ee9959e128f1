"""Import transformers' own common model tests from the copy that scripts/fetch_transformers_tests.sh extracted
from the sdist of the installed version, under the package name `transformers_sdist_tests` (so they cannot clash
with this project's `tests`), after putting stand-ins in place for the modules the sdist lacks."""

import importlib
import sys
import types
import warnings
from pathlib import Path

import pytest
import torch
import transformers
from transformers.models.auto import modeling_auto

from . import standins

FETCH_COMMAND = "bash scripts/fetch_transformers_tests.sh"
PACKAGE = "transformers_sdist_tests"
REPO_ROOT = Path(__file__).resolve().parents[2]

# Modules that test_modeling_common.py / test_configuration_common.py import relatively and that the sdist does not
# ship (transformers 5.23.0), with the names each needs.
_STANDIN_MODULES = {
    "generation.test_utils": {"GenerationTesterMixin": standins.GenerationTesterMixin},
    "exporters.test_export": {"ExportTesterMixin": standins.ExportTesterMixin},
    "utils.test_configuration_utils": {"config_common_kwargs": standins.config_common_kwargs},
}


def sources_dir() -> Path:
    """Where the fetch script puts the tests of the installed transformers version."""
    return REPO_ROOT / ".cache" / "transformers-tests" / transformers.__version__


def load() -> tuple[types.ModuleType, types.ModuleType]:
    """Return the modules `test_modeling_common` and `test_configuration_common`.

    When they cannot be imported here, skips the calling test module (pytest.skip at module level) with a reason
    that names the command to run.
    """
    root = sources_dir()
    if not (root / "COMPLETE").is_file():
        pytest.skip(
            f"transformers {transformers.__version__}'s own common model tests are not fetched: run "
            f"`{FETCH_COMMAND}` (downloads the sdist once, needs network)",
            allow_module_level=True,
        )
    try:
        import parameterized  # noqa: F401  (imported by test_modeling_common.py)
    except ImportError:
        pytest.skip(
            f"`parameterized` is missing (transformers' test_modeling_common.py imports it): run `{FETCH_COMMAND}` "
            "or `pip install parameterized`",
            allow_module_level=True,
        )
    if str(root) not in sys.path:
        sys.path.append(str(root))
    _install_standins()
    with warnings.catch_warnings():
        # Their decorators use transformers' own pytest marks (slow, flash_attn_test, flash_attn_3_test,
        # flash_attn_4_test, torch_compile_test, accelerate_tests), registered in transformers' conftest, not here.
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        modeling = importlib.import_module(f"{PACKAGE}.test_modeling_common")
        configuration = importlib.import_module(f"{PACKAGE}.test_configuration_common")
    return modeling, configuration


def _install_standins() -> None:
    """Register each stand-in (and its parent packages) in sys.modules before the real files import them: a module
    already in sys.modules is never looked for on disk."""
    importlib.import_module(PACKAGE)
    for dotted, names in _STANDIN_MODULES.items():
        parent = sys.modules[PACKAGE]
        parts = dotted.split(".")
        for depth, part in enumerate(parts, start=1):
            name = ".".join([PACKAGE, *parts[:depth]])
            module = sys.modules.get(name)
            if module is None:
                module = types.ModuleType(name, f"Stand-in from tests/transformers_common/standins.py for {name}.")
                if depth < len(parts):
                    module.__path__ = []  # a package: its children are the stand-ins registered here
                sys.modules[name] = module
                setattr(parent, part, module)
            parent = module
        for attribute, value in names.items():
            setattr(parent, attribute, value)


def register_model_names(model_type: str, **tables: str) -> None:
    """Add this project's class names to transformers' built-in name tables that the common tests consult.

    Example: `register_model_names("rnn_seq2seq", MODEL_MAPPING_NAMES="RNNSeq2SeqModel",
    MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES="RNNSeq2SeqForConditionalGeneration")`.

    The tables are the dicts of `transformers.models.auto.modeling_auto` (`model_type -> class name`); the common
    tests read them, e.g. `_prepare_for_class(return_labels=True)` adds `labels` only for the classes listed in
    MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES, and several tests treat MODEL_MAPPING_NAMES classes as base models.
    The change lasts for the process and is idempotent; a model_type that is not in CONFIG_MAPPING_NAMES is ignored
    by the Auto classes' lazy mappings, so this cannot change what AutoModel resolves (use `AutoModel.register`).
    """
    for table_name, class_name in tables.items():
        table = getattr(modeling_auto, table_name, None)
        if not table_name.endswith("_MAPPING_NAMES") or not isinstance(table, dict):
            known = sorted(n for n in dir(modeling_auto) if n.endswith("_MAPPING_NAMES"))
            raise ValueError(f"{table_name!r} is not a name table of transformers' modeling_auto; known: {known}")
        current = table.get(model_type)
        if current is not None and current != class_name:
            raise ValueError(
                f"{table_name}[{model_type!r}] is already {current!r}, not {class_name!r}: a model_type must be unique"
            )
        table[model_type] = class_name


class OneTorchThread:
    """unittest mixin: run the class's tests with one intra-op torch thread, restored afterwards.

    Tiny test models gain nothing from intra-op threads, and on a loaded 2-core machine the thread hand-offs cost more
    than the maths (the Marian proof: 23 s instead of 34 s under load).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._threads_before = torch.get_num_threads()
        torch.set_num_threads(1)

    @classmethod
    def tearDownClass(cls):
        torch.set_num_threads(cls._threads_before)
        super().tearDownClass()
