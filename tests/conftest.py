"""Fixtures shared by the test files of both model families."""

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
    import transformers

    inputs_path, out_path = sys.argv[1:]
    try:
        import hf_attention_zoo  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the package is importable: this test would prove nothing")
    results = {}
    for name, job in torch.load(inputs_path).items():
        auto_class = getattr(transformers, job.get("auto_class", "AutoModelForSeq2SeqLM"))
        model = auto_class.from_pretrained(job["folder"], trust_remote_code=True).eval()
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
    the zoo modules the process imported (none). A job may name its Auto class as a fourth item (default
    AutoModelForSeq2SeqLM)."""

    def run(jobs: dict[str, tuple]) -> dict[str, dict]:
        inputs_path, out_path = tmp_path / "remote_inputs.pt", tmp_path / "remote_outputs.pt"
        torch.save({name: {"folder": str(job[0]), "forward": job[1], "generate": job[2],
                           "auto_class": job[3] if len(job) > 3 else "AutoModelForSeq2SeqLM"}
                    for name, job in jobs.items()}, inputs_path)
        run_offline(_REMOTE_LOAD_SCRIPT, inputs_path, out_path, home=tmp_path)
        return torch.load(out_path)

    return run
