"""A model saved under one transformers release loads through remote code, with the package not importable, under
another, and gives identical logits, greedy output and beam output; both directions, for each family.

The releases are the virtual environments of scripts/test.sh's stages (.venv, .venv-newest, .venv-floor), each with
its own transformers. A pair is tested when both environments exist and their transformers versions differ. Under
scripts/test.sh the test runs once, in the floor stage (the last), where a missing newest environment is an error,
not a skip.
"""

import json
import os
from pathlib import Path

import pytest
from support.fresh_process import run_offline, without_package

REPO = Path(__file__).resolve().parents[2]
VENVS = {"lock": REPO / ".venv", "newest": REPO / ".venv-newest", "floor": REPO / ".venv-floor"}

# Run with the package importable: build a tiny model of the family, save it, and record its outputs.
SAVE_SCRIPT = """
import json, sys
import torch
import transformers
from hf_attention_zoo import RNNSeq2SeqConfig, ShowAttendTellConfig, TransformerSeq2SeqConfig
from transformers import AutoModelForImageTextToText, AutoModelForSeq2SeqLM

families, root, out_path = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
outputs = {}
for family in families:
  folder = f"{root}/{family}"
  torch.manual_seed(0)
  if family == "rnn":
    config = RNNSeq2SeqConfig(vocab_size=40, embedding_size=16, hidden_size=16, encoder_hidden_size=8,
                              cell_type="lstm", attention_type="general", attention_wiring="luong",
                              input_feeding=True, bidirectional_encoder=True)
  elif family == "transformer":
    config = TransformerSeq2SeqConfig.from_preset("small", vocab_size=40, d_model=32, encoder_layers=2,
                                                  decoder_layers=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                                                  encoder_attention_heads=4, decoder_attention_heads=4,
                                                  max_position_embeddings=64, init_std=0.3)
  else:
    config = ShowAttendTellConfig(vocab_size=40, image_size=16, cnn_channels=[8, 16], embedding_size=16,
                                  hidden_size=16, attention_hidden_size=8, feature_self_attention=True, dropout=0.0)
  auto_class = AutoModelForImageTextToText if family == "show_attend_tell" else AutoModelForSeq2SeqLM
  model = auto_class.from_config(config).eval()
  with torch.no_grad():
    for param in model.parameters():
        param.normal_(0.0, 0.4)
  model.save_pretrained(folder)
"""

# Shared by both sides, inside the loop over families: the same inputs, then logits, greedy and beam output.
RUN_SCRIPT = """
  if family == "show_attend_tell":
    sources = {"pixel_values": torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))}
  else:
    input_ids = torch.tensor([[5, 6, 7, 8, 9, 2], [10, 11, 12, 2, 1, 1]])
    sources = {"input_ids": input_ids, "attention_mask": (input_ids != 1).long()}
  decoder_input_ids = torch.tensor([[0, 13, 14, 15], [0, 16, 17, 18]])
  with torch.no_grad():
    logits = model(**sources, decoder_input_ids=decoder_input_ids).logits
    greedy = model.generate(**sources, num_beams=1, do_sample=False, max_new_tokens=12)
    beam = model.generate(**sources, num_beams=3, do_sample=False, max_new_tokens=12, num_return_sequences=2,
                          output_scores=True, return_dict_in_generate=True)
  outputs[family] = {"logits": logits, "greedy": greedy, "beam": beam.sequences, "beam_scores": beam.sequences_scores,
                     "transformers": transformers.__version__, "module": type(model).__module__}
torch.save(outputs, out_path)
"""

# Run where the package cannot be imported: load the folder through remote code and record the same outputs.
LOAD_SCRIPT = without_package(
    """
    import sys
    import torch
    import transformers
    from transformers import AutoModelForImageTextToText, AutoModelForSeq2SeqLM

    families, root, out_path = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    outputs = {}
    for family in families:
      folder = f"{root}/{family}"
      auto_class = AutoModelForImageTextToText if family == "show_attend_tell" else AutoModelForSeq2SeqLM
      model = auto_class.from_pretrained(folder, trust_remote_code=True).eval()
    """
)
FAMILIES = ["rnn", "transformer", "show_attend_tell"]


def venv_python(name: str) -> Path | None:
    python = VENVS[name] / "bin" / "python"
    return python if python.exists() else None


def transformers_version(name: str) -> str:
    """The transformers version installed in a stage's environment (read from its metadata, no interpreter)."""
    (dist_info,) = VENVS[name].glob("lib/python*/site-packages/transformers-*.dist-info")
    return dist_info.name.removeprefix("transformers-").removesuffix(".dist-info")


def run(python: Path, script: str, *args: str, tmp_path: Path, package: bool) -> None:
    run_offline(script, *args, home=tmp_path / python.parent.parent.name, cwd=tmp_path, python=python,
                package=package, repo=REPO)


PAIRS = [("floor", "newest"), ("newest", "floor"), ("floor", "lock"), ("lock", "floor")]


@pytest.mark.parametrize(("saved_under", "loaded_under"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_saved_under_one_release_loads_identically_under_another(saved_under, loaded_under, tmp_path):
    import torch

    stage = os.environ.get("ZOO_TEST_STAGE")
    if stage not in (None, "floor"):
        pytest.skip("runs once, in the floor stage of scripts/test.sh, after every environment has been installed")
    pythons = {name: venv_python(name) for name in (saved_under, loaded_under)}
    missing = [name for name, python in pythons.items() if python is None]
    if missing:
        if os.environ.get("ZOO_TEST_STAGE") == "floor" and "newest" in missing:
            pytest.fail(f"the {missing} environment is missing in the last stage: run bash scripts/test.sh")
        pytest.skip(f"no {', '.join(str(VENVS[name]) for name in missing)}: bash scripts/install.sh {missing[0]}")
    versions = {name: transformers_version(name) for name in pythons}
    if versions[saved_under] == versions[loaded_under]:
        pytest.skip(f"{saved_under} and {loaded_under} have the same transformers ({versions[saved_under]})")
    if "lock" in (saved_under, loaded_under) and venv_python("newest") is not None \
            and transformers_version("newest") == versions["lock"]:
        pytest.skip(f"the lock's transformers {versions['lock']} is the newest: the newest pairs test it")

    # Both families in one process per side: an interpreter with torch and transformers takes seconds to start.
    root, saved, loaded = tmp_path / "models", tmp_path / "saved.pt", tmp_path / "loaded.pt"
    run(pythons[saved_under], SAVE_SCRIPT + RUN_SCRIPT, ",".join(FAMILIES), str(root), str(saved), tmp_path=tmp_path,
        package=True)
    run(pythons[loaded_under], LOAD_SCRIPT + RUN_SCRIPT, ",".join(FAMILIES), str(root), str(loaded),
        tmp_path=tmp_path, package=False)
    references, remotes = torch.load(saved), torch.load(loaded)
    for family in FAMILIES:
        reference, remote = references[family], remotes[family]
        assert (reference["transformers"], remote["transformers"]) == (versions[saved_under], versions[loaded_under])
        assert not remote["module"].startswith("hf_attention_zoo")  # the folder's own code ran
        config = json.loads((root / family / "config.json").read_text())
        assert config["transformers_version"] == versions[saved_under]
        torch.testing.assert_close(remote["logits"], reference["logits"], rtol=0, atol=0)
        assert torch.equal(remote["greedy"], reference["greedy"])
        assert torch.equal(remote["beam"], reference["beam"])
        torch.testing.assert_close(remote["beam_scores"], reference["beam_scores"], rtol=0, atol=0)
        assert reference["greedy"].shape[1] > 3  # the outputs are sentences, not an immediate end-of-sequence
