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


def offline_environment(home, package: bool, repo=None, **extra) -> dict:
    """The environment of a child process: the Hub switched off, HF caches of its own under `home`, and the package
    importable from the checkout `repo` (package=True) or from nowhere but the installation (package=False: pair it
    with `without_package` to block that too)."""
    import os
    from pathlib import Path

    home = Path(home)
    return dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(home / "hf_home"),
                HF_MODULES_CACHE=str(home / "hf_modules"),
                PYTHONPATH=str(repo) if package and repo is not None else "", **extra)


def run_offline(script: str, *args: str, home, package: bool = False, python=None, cwd=None, repo=None,
                timeout: int = 300, input: str | None = None, **extra_env):
    """Run `python -c script args...` offline (see `offline_environment`); `script` runs as given, so wrap it in
    `without_package` for a process that must not import the package; `input` is its standard input. Returns the
    CompletedProcess, having asserted that it succeeded (the message holds the end of its output)."""
    import subprocess
    import sys

    done = subprocess.run([str(python or sys.executable), "-c", script, *map(str, args)], cwd=cwd or home,
                          env=offline_environment(home, package, repo, **extra_env), capture_output=True, text=True,
                          timeout=timeout, **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}))
    assert done.returncode == 0, f"child process failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done
