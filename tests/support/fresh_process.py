"""Scripts for child processes in which hf_attention_zoo cannot be imported (though it is installed here): what a
user without the package runs, so that loading through remote code is really tested."""

import textwrap

BLOCK_PACKAGE = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class _BlockZoo(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "hf_attention_zoo":
                raise ImportError("hf_attention_zoo is blocked in this process")

    sys.meta_path.insert(0, _BlockZoo())
    """
)


def without_package(script: str) -> str:
    """`script` (dedented) preceded by the import blocker, for `python -c`."""
    return BLOCK_PACKAGE + textwrap.dedent(script)


# `python -c RUN_SCRIPT path/to/script.py args...` runs the script as `python script.py args...` would;
# RUN_SCRIPT_WITHOUT_PACKAGE does the same where the package cannot be imported.
RUN_SCRIPT = textwrap.dedent(
    """
    import runpy
    import sys

    sys.argv = sys.argv[1:]
    sys.path.insert(0, sys.argv[0].rpartition("/")[0])  # the script's folder, as `python script.py` puts first
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)
RUN_SCRIPT_WITHOUT_PACKAGE = BLOCK_PACKAGE + RUN_SCRIPT
