"""Fixtures shared by the test files of both model families."""

from pathlib import Path

import pytest
import torch
from support.local_hub import local_hub  # noqa: F401  (the Hub on 127.0.0.1 of test_local_hub.py)
from support.fresh_process import run_offline, without_package

# A child process that cannot import hf_attention_zoo (even though it is installed here) loads saved folders through
# remote code, runs a forward pass and generate() on each, and saves what it got.
_REMOTE_LOAD_SCRIPT = without_package(
    """
    import sys
    import torch
    from transformers import AutoModelForSeq2SeqLM

    inputs_path, out_path = sys.argv[1:]
    try:
        import hf_attention_zoo  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the package is importable: this test would prove nothing")
    results = {}
    for name, job in torch.load(inputs_path).items():
        model = AutoModelForSeq2SeqLM.from_pretrained(job["folder"], trust_remote_code=True).eval()
        with torch.no_grad():
            logits = model(**job["forward"]).logits
            sequences = model.generate(**job["generate"])
        results[name] = {"logits": logits, "sequences": sequences, "module": type(model).__module__,
                         "zoo_modules": sorted(m for m in sys.modules if m.startswith("hf_attention_zoo"))}
    torch.save(results, out_path)
    """
)


@pytest.fixture
def load_through_remote_code(tmp_path):
    """Return `run(jobs) -> results` that loads saved folders in ONE fresh process without the package
    (HF_HUB_OFFLINE, a temporary HF_HOME and modules cache): `jobs` maps a name to `(folder, forward_inputs,
    generate_inputs)`, and each result holds that folder's `logits`, generated `sequences`, the model's `module` and
    the zoo modules the process imported (none)."""

    def run(jobs: dict[str, tuple[Path, dict, dict]]) -> dict[str, dict]:
        inputs_path, out_path = tmp_path / "remote_inputs.pt", tmp_path / "remote_outputs.pt"
        torch.save({name: {"folder": str(folder), "forward": forward, "generate": generate}
                    for name, (folder, forward, generate) in jobs.items()}, inputs_path)
        run_offline(_REMOTE_LOAD_SCRIPT, inputs_path, out_path, home=tmp_path)
        return torch.load(out_path)

    return run
