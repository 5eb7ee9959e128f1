"""The whole workflow of the README on the built-in task, small: train -> evaluate -> translate -> push to a Hub
served on 127.0.0.1 -> load from that Hub in a fresh process without the package, which translates the same."""

import json
from pathlib import Path

import yaml

from support.fresh_process import RUN_SCRIPT, RUN_SCRIPT_WITHOUT_PACKAGE
from support.local_hub import USER, run_child

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["Tuesday 9 May 1989", "9/5/89", "the 1st of January 2000"]


def script(name: str) -> str:
    return str(REPO / "scripts" / name)


def front_matter(card: str) -> dict:
    return yaml.safe_load(card.split("---")[1])


def test_train_evaluate_translate_push_and_load_from_the_hub(tmp_path, local_hub):
    env = local_hub.env(tmp_path / "home")
    run = tmp_path / "run"
    run_child(RUN_SCRIPT, [script("train.py"), "--output_dir", run, "--num_train", "600", "--num_validation", "24",
                        "--num_test", "24", "--num_train_epochs", "2", "--num_samples", "2", "--config_overrides",
                        "embedding_size=32,hidden_size=64,encoder_hidden_size=32,attention_hidden_size=32"],
              env=env, cwd=tmp_path, timeout=600)
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["steps"] == 20 and set(summary["results"]) == {"validation", "test"}
    card = front_matter((run / "README.md").read_text())
    assert card["library_name"] == "transformers" and "custom_code" in card["tags"]

    run_child(RUN_SCRIPT, [script("evaluate_model.py"), "--model", run, "--num_beams", "2"], env=env, cwd=tmp_path)
    report = json.loads((run / "eval_test.json").read_text())
    assert report["sentences"] == 24 and report["decoding"]["num_beams"] == 2
    assert set(report["results"]) >= {"sacrebleu", "chrf", "bleu_lowercase_tokenized", "perplexity"}
    assert report["signatures"]["sacrebleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert len((run / "hypotheses.test.iso").read_text().splitlines()) == 24
    test_metrics = next(result["metrics"] for result in card_results(run) if result["dataset"]["split"] == "test")
    assert next(m["value"] for m in test_metrics if m["type"] == "sacrebleu") == report["results"]["sacrebleu"]

    local = run_child(RUN_SCRIPT, [script("translate.py"), "--model", run, "--num_beams", "2", *SOURCES],
                      env=env, cwd=tmp_path)
    translations = local.stdout.splitlines()
    assert len(translations) == len(SOURCES)
    # the main job's last step (scripts/quickstart.sh): the attention map of one translation
    run_child(RUN_SCRIPT, [script("plot_attention.py"), "--model", run, "--output", run / "attention.png",
                           "--num_beams", "4", SOURCES[0]], env=env, cwd=tmp_path)
    assert (run / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    repo_id = f"{USER}/dates-rnn"
    run_child(RUN_SCRIPT, [script("push_to_hub.py"), "--model", run, "--repo_id", repo_id], env=env, cwd=tmp_path)
    files = local_hub.files(repo_id)
    assert {"model.safetensors", "config.json", "modeling_rnn_seq2seq.py", "tokenizer.json", "README.md",
            "zoo_task.json", "eval_test.json"} <= set(files)
    assert not [name for name in files if name.endswith((".bin", ".pt", ".pth"))]
    hub_card = local_hub.read(repo_id, "README.md").decode()
    assert f'from_pretrained("{repo_id}"' in hub_card and "model-index" in hub_card

    # A fresh process without the package: the model and tokenizer come from the Hub, the code from the repo.
    remote = run_child(RUN_SCRIPT_WITHOUT_PACKAGE, [script("translate.py"), "--model", repo_id, "--trust_remote_code", "true",
                                         "--num_beams", "2", *SOURCES], env=dict(env, PYTHONPATH=""), cwd=tmp_path)
    assert remote.stdout.splitlines() == translations
    assert not local_hub.server_errors


def card_results(folder: Path) -> list[dict]:
    return front_matter((folder / "README.md").read_text())["model-index"][0]["results"]
