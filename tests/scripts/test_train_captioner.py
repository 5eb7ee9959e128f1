"""The captioning workflow of the README, small: scripts/train_captioner.py trains the attention model and the
no-attention baseline on the synthetic shapes task, evaluates both on the held-out test split, draws the overlays and
writes the cards -> push_to_hub.py to a Hub served on 127.0.0.1 -> a fresh process without the package runs the card's
usage snippet against the Hub repository and captions the same as the package's model."""

import json
import re
import textwrap
from pathlib import Path

import torch
import yaml
from transformers import AutoModelForImageTextToText, AutoProcessor

from hf_attention_zoo.data.synthetic_shapes import make_shapes_dataset
from support.fresh_process import RUN_SCRIPT, without_package
from support.local_hub import USER, run_child

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def front_matter(card: str) -> dict:
    return yaml.safe_load(card.split("---")[1])


def test_train_both_captioners_evaluate_draw_push_and_caption_from_the_hub(tmp_path, local_hub):
    env = local_hub.env(tmp_path / "home")
    run = tmp_path / "shapes"
    run_child(RUN_SCRIPT, [REPO / "scripts" / "train_captioner.py", "--output_dir", run, "--num_train", "128",
                           "--num_validation", "16", "--num_test", "16", "--num_test_relations", "16",
                           "--num_train_epochs", "2",
                           "--test_num_beams", "3", "--overlays", "2", "--config_overrides",
                           "feature_self_attention=true,hidden_size=32,attention_hidden_size=16,embedding_size=16"],
              env=env, cwd=tmp_path, timeout=600)

    summary = json.loads((run / "results.json").read_text())
    assert [r["name"] for r in summary["runs"]] == ["soft attention", "no attention (baseline)"]
    attention, baseline = (r["results"] for r in summary["runs"])
    assert set(attention) == set(baseline) == {"validation (greedy)", "test (greedy)", "test (beam 3)",
                                               "test_relations (greedy)", "test_relations (beam 3)"}
    assert "held_out_named" in attention["test (greedy)"] and "held_out_relations_named" not in attention["test (greedy)"]
    assert "held_out_relations_named" in attention["test_relations (beam 3)"]
    assert {"bleu4", "exact_match", "ran_to_limit", "pointing_mass", "chance", "pointing_ratio"} <= set(
        attention["test (beam 3)"])
    assert "pointing_mass" not in baseline["test (beam 3)"]
    assert "| soft attention | test (beam 3) |" in (run / "results.md").read_text()
    for name in ("test-0.png", "test-1.png", "sagan-test-0.png"):
        assert (run / "attention" / name).read_bytes()[:8] == PNG_SIGNATURE, name

    card = front_matter((run / "README.md").read_text())
    assert card["pipeline_tag"] == "image-to-text" and "custom_code" in card["tags"]
    results = card["model-index"][0]["results"]
    assert {r["task"]["type"] for r in results} == {"image-to-text"}
    beam = next(r for r in results if r["dataset"]["split"] == "test (beam 3)")
    assert {m["type"]: m["value"] for m in beam["metrics"]}["bleu4"] == attention["test (beam 3)"]["bleu4"]
    assert front_matter((run / "baseline" / "README.md").read_text())["tags"].count("no-attention-baseline") == 1

    repo_id = f"{USER}/shapes-show-attend-tell"
    run_child(RUN_SCRIPT, [REPO / "scripts" / "push_to_hub.py", "--model", run, "--repo_id", repo_id], env=env,
              cwd=tmp_path)
    files = set(local_hub.files(repo_id))
    assert {"model.safetensors", "config.json", "modeling_show_attend_tell.py", "image_encoder.py",
            "feature_map_attention.py", "processor_config.json", "tokenizer.json", "README.md",
            "results.md", "attention/test-0.png"} <= files
    assert "pipeline_translation.py" not in files  # the translation pipeline ships with text models only

    # The card's usage snippet, with `image` defined, in a process that cannot import the package.
    hub_card = local_hub.read(repo_id, "README.md").decode()
    snippet = re.findall(r"```python\n(.*?)```", hub_card, flags=re.S)[0]
    assert f'repo_id = "{repo_id}"' in snippet
    images_path = tmp_path / "images.pt"
    test_images = make_shapes_dataset(seed=0, num_train=128, num_validation=16, num_test=16,
                                      num_test_relations=0)["test"]["image"][:3]
    torch.save([image.tobytes() for image in test_images], images_path)
    body = textwrap.dedent(
        """
        import json, sys
        import torch
        from PIL import Image
        images = [Image.frombytes("RGB", (64, 64), data) for data in torch.load(sys.argv[1])]
        captions = []
        for image in images:
        """
    ) + textwrap.indent(snippet.replace("print(", "captions.append("), "    ") + textwrap.dedent(
        """
        assert type(model).__module__.startswith("transformers_modules.")  # the code came from the Hub repository
        assert not [m for m in sys.modules if m.startswith("hf_attention_zoo")]
        print(json.dumps([c for batch in captions for c in batch]))
        """
    )
    script = without_package(body)
    remote = run_child(script, [images_path], env=dict(env, PYTHONPATH=""), cwd=tmp_path)
    from_hub = json.loads(remote.stdout.splitlines()[-1])

    model = AutoModelForImageTextToText.from_pretrained(run).eval()
    processor = AutoProcessor.from_pretrained(run)
    beams = int(re.search(r"num_beams=(\d+)", snippet).group(1))
    local = [processor.batch_decode(model.generate(**processor(images=[image], return_tensors="pt"), num_beams=beams,
                                                   max_new_tokens=24), skip_special_tokens=True)[0]
             for image in test_images]
    assert from_hub == local
    assert not local_hub.server_errors
