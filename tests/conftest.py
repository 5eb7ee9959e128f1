"""Fixtures shared by the test files of both model families."""

from pathlib import Path

import pytest
import torch
from support.local_hub import local_hub  # noqa: F401  (the Hub on 127.0.0.1 of test_local_hub.py)
from support.fresh_process import run_offline, without_package

# A child process that cannot import hf_attention_zoo (even though it is installed here) loads a saved folder
# through remote code, runs a forward pass and generate(), and saves what it got.
_REMOTE_LOAD_SCRIPT = without_package(
    """
    import sys
    import torch
    from transformers import AutoModelForSeq2SeqLM

    folder, inputs_path, out_path = sys.argv[1:]
    try:
        import hf_attention_zoo  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the package is importable: this test would prove nothing")
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval()
    inputs = torch.load(inputs_path)
    with torch.no_grad():
        logits = model(**inputs["forward"]).logits
        sequences = model.generate(**inputs["generate"])
    torch.save(
        {"logits": logits, "sequences": sequences, "module": type(model).__module__,
         "zoo_modules": sorted(m for m in sys.modules if m.startswith("hf_attention_zoo"))},
        out_path,
    )
    """
)


@pytest.fixture
def load_through_remote_code(tmp_path):
    """Return `run(folder, forward_inputs, generate_inputs) -> dict` that loads `folder` in a fresh process
    without the package (HF_HUB_OFFLINE, a temporary HF_HOME and modules cache) and returns its logits and
    generated sequences."""

    def run(folder: Path, forward_inputs: dict, generate_inputs: dict) -> dict:
        inputs_path, out_path = tmp_path / "remote_inputs.pt", tmp_path / "remote_outputs.pt"
        torch.save({"forward": forward_inputs, "generate": generate_inputs}, inputs_path)
        run_offline(_REMOTE_LOAD_SCRIPT, folder, inputs_path, out_path, home=tmp_path)
        return torch.load(out_path)

    return run
