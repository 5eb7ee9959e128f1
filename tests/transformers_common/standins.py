"""Stand-ins for the three modules that transformers' tests/test_modeling_common.py and
tests/test_configuration_common.py import but that the transformers source distribution does not ship.

Each stand-in carries only what those two files use (read in transformers 5.23.0):
- `tests/generation/test_utils.py::GenerationTesterMixin`: used by `test_generation_tester_mixin_inheritance`
  only as an `issubclass` check. The real mixin's generate() tests are NOT run; each family tests generate itself.
- `tests/exporters/test_export.py::ExportTesterMixin`: the base class of `ModelTesterMixin`. The real one adds the
  torch.export / ONNX / OpenVINO / ExecuTorch export tests; they are NOT run.
- `tests/utils/test_configuration_utils.py::config_common_kwargs`: real data, copied from transformers' source
  (the 5.x version); `ConfigTester.check_config_arguments_init` builds a config from it and checks every value
  round-trips. `config_common_kwargs_mismatch()` says whether it still covers the installed base config.
"""

import dataclasses


class GenerationTesterMixin:
    """Stand-in: marks a test class whose models can generate (see the module docstring). Adds no tests."""


class ExportTesterMixin:
    """Stand-in: the export tests of the real mixin need the exporters' optional back-ends. Adds no tests."""


# Copied from transformers' tests/utils/test_configuration_utils.py (5.x): one non-default value for every
# public field of `PreTrainedConfig`.
config_common_kwargs = {
    "return_dict": False,
    "output_hidden_states": True,
    "output_attentions": True,
    "dtype": "float16",
    "chunk_size_feed_forward": 5,
    "architectures": ["BertModel"],
    "id2label": {0: "label"},
    "label2id": {"label": "0"},
    "problem_type": "regression",
}

# The base-config fields transformers' own `test_config_common_kwargs_is_complete` leaves out on purpose.
_NOT_COMMON = {"transformers_version", "is_encoder_decoder"}


def config_common_kwargs_mismatch() -> list[str]:
    """Names of public `PreTrainedConfig` fields of the installed transformers that `config_common_kwargs` does not
    cover (empty when this copy is still complete)."""
    from transformers import PreTrainedConfig

    fields = {f.name for f in dataclasses.fields(PreTrainedConfig) if not f.name.startswith("_")}
    return sorted(fields - _NOT_COMMON - set(config_common_kwargs))
