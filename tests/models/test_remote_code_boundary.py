"""The remote-code boundary, checked without a subprocess: `hf_attention_zoo/models/` holds exactly the files that
`save_pretrained` copies into a model folder for every registered family, and nothing in it needs more than torch,
transformers, huggingface_hub and the standard library. A modeling file that imported a tool of the package (say
sacrebleu through the metrics) would make every checkpoint need it to load; this test fails first."""

import ast
import sys
from pathlib import Path

import pytest
from transformers.dynamic_module_utils import get_relative_import_files

import hf_attention_zoo.models
from hf_attention_zoo.models.zoo_pretrained import SHIPPED_WITH_EVERY_MODEL
from hf_attention_zoo.registry import FAMILIES

MODELS = Path(hf_attention_zoo.models.__file__).parent
SHIPPED = sorted(path for path in MODELS.glob("*.py") if path.name != "__init__.py")
ALLOWED_THIRD_PARTY = {"torch", "transformers", "huggingface_hub"}


def copied_by_save_pretrained(module) -> set[str]:
    """What `save_pretrained` copies for a class defined in `module`: transformers' `custom_object_save` copies its
    file and, recursively, the siblings it imports relatively; the zoo adds `SHIPPED_WITH_EVERY_MODEL` (the
    translation pipeline, copied rather than imported so that loading a model does not import transformers'
    pipelines)."""
    path = Path(module.__file__)
    return {path.name, *(Path(p).name for p in get_relative_import_files(str(path))), *SHIPPED_WITH_EVERY_MODEL}


def test_the_folder_is_exactly_what_the_registered_families_ship():
    shipped = set()
    for family in FAMILIES.values():
        for cls in (family.config_class, family.base_model_class, family.head_class):
            module = sys.modules[cls.__module__]
            assert Path(module.__file__).parent == MODELS, f"{cls.__name__} lives outside models/"
            shipped |= copied_by_save_pretrained(module)
    assert shipped == {path.name for path in SHIPPED}, "models/ holds files no family ships, or misses some"


def test_a_saved_folder_holds_the_same_files(tmp_path):
    from support import rnn_fixtures, transformer_fixtures

    for fixtures in (rnn_fixtures, transformer_fixtures):
        model = fixtures.tiny_model()
        model.save_pretrained(tmp_path / model.config.model_type)
        saved = {path.name for path in (tmp_path / model.config.model_type).glob("*.py")}
        expected = copied_by_save_pretrained(sys.modules[type(model).__module__])
        expected |= copied_by_save_pretrained(sys.modules[type(model.config).__module__])
        assert saved == expected


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_files_import_only_siblings_torch_transformers_and_the_hub(path):
    siblings = {other.stem for other in SHIPPED}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            # Remote code copies one flat folder: only `from .sibling import Name` resolves there.
            assert node.level == 1 and node.module in siblings, (
                f"{path.name}:{node.lineno}: relative imports must be `from .<sibling> import ...` of models/, "
                f"got level {node.level} module {node.module!r}")
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                    f"{path.name}:{node.lineno}: imports {name}; shipped model code may import only the standard "
                    f"library, {', '.join(sorted(ALLOWED_THIRD_PARTY))} and its siblings")


def test_the_package_init_of_models_imports_nothing():
    tree = ast.parse((MODELS / "__init__.py").read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
