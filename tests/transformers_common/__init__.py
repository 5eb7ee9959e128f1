"""transformers' own common model tests (`ModelTesterMixin`, `ConfigTester`), imported from the sdist of the
installed version; how to use them: tests/transformers_common/README.md.

Importing this package skips the importing test module (with the command to run) when the sources are absent.
"""

from .harness import FETCH_COMMAND, OneTorchThread, load, register_model_names, sources_dir
from .standins import GenerationTesterMixin, config_common_kwargs_mismatch

_modeling, _configuration = load()

ModelTesterMixin = _modeling.ModelTesterMixin
ids_tensor = _modeling.ids_tensor
floats_tensor = _modeling.floats_tensor
random_attention_mask = _modeling.random_attention_mask
ConfigTester = _configuration.ConfigTester

__all__ = [
    "FETCH_COMMAND",
    "ConfigTester",
    "GenerationTesterMixin",
    "ModelTesterMixin",
    "OneTorchThread",
    "config_common_kwargs_mismatch",
    "floats_tensor",
    "ids_tensor",
    "random_attention_mask",
    "register_model_names",
    "sources_dir",
]
