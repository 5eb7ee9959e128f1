"""Folders saved by an earlier release still load and generate identically: tests/fixtures/saved_0_1 holds a tiny
model of each family saved by hf_attention_zoo 0.1.0 before the model code moved into `models/` (same model_type
strings, flat code files), with the outputs it gave then. Loaded with the installed package, and through the
folder's own code where the package cannot be imported, they must give those outputs exactly."""

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

import hf_attention_zoo  # noqa: F401  (registers the families)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "saved_0_1"
FAMILIES = ["rnn", "transformer"]


def expected(family: str) -> dict:
    return torch.load(FIXTURES / family / "expected_outputs.pt")


@pytest.mark.parametrize("family", FAMILIES)
def test_an_old_folder_loads_with_the_package_and_gives_its_outputs(family):
    outputs = expected(family)
    model = AutoModelForSeq2SeqLM.from_pretrained(FIXTURES / family).eval()
    assert type(model).__module__.startswith("hf_attention_zoo.models.")
    inputs = {"input_ids": outputs["input_ids"], "attention_mask": outputs["attention_mask"]}
    with torch.no_grad():
        logits = model(**inputs, decoder_input_ids=outputs["decoder_input_ids"]).logits
        greedy = model.generate(**inputs, num_beams=1, max_new_tokens=8)
        beam = model.generate(**inputs, num_beams=3, max_new_tokens=8)
    # In-process, earlier tests may have changed torch's thread count, which moves CPU sums in the last bit.
    torch.testing.assert_close(logits, outputs["logits"], rtol=1e-5, atol=1e-6)
    assert torch.equal(greedy, outputs["greedy"]) and torch.equal(beam, outputs["beam"])


def test_old_folders_load_through_their_own_code_without_the_package(load_through_remote_code):
    jobs = {}
    for family in FAMILIES:
        outputs = expected(family)
        inputs = {"input_ids": outputs["input_ids"], "attention_mask": outputs["attention_mask"]}
        jobs[family] = (FIXTURES / family, {**inputs, "decoder_input_ids": outputs["decoder_input_ids"]},
                        {**inputs, "num_beams": 3, "max_new_tokens": 8})
    for family, remote in load_through_remote_code(jobs).items():
        outputs = expected(family)
        assert not remote["module"].startswith("hf_attention_zoo")
        # The recorded logits came from another CPU: a different SIMD path (AVX-512 or AVX2) moves CPU sums in the
        # last bit (seen: 9.5e-7 at most), so they match within the in-process test's tolerance; the beams must match
        # exactly. tests/models/test_equivalences.py checks remote code against the package bit for bit on
        # one machine.
        torch.testing.assert_close(remote["logits"], outputs["logits"], rtol=1e-5, atol=1e-6)
        assert torch.equal(remote["sequences"], outputs["beam"])
