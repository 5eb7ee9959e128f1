"""Model cards (hf_attention_zoo.hub.model_card): the YAML metadata and its model-index, the architecture table, the
results, re-rendering with new results, and Usage snippets that really run against a saved tiny model."""

import json
import re

import pytest
from support import rnn_fixtures
from support import transformer_fixtures
from huggingface_hub import ModelCard
from transformers import AutoModelForSeq2SeqLM

from hf_attention_zoo.hub.model_card import MULTI30K_CITATION, render_model_card, save_model_card, update_model_card
from hf_attention_zoo.data.subword_tokenizer import train_tokenizer
from hf_attention_zoo.data.synthetic_dates import SOURCE_LANG, TARGET_LANG, make_dates_dataset
from support.fresh_process import run_offline, without_package

FAMILIES = {
    "rnn": (rnn_fixtures.tiny_config, ["rnn", "gru", "bahdanau-attention"]),
    "transformer": (transformer_fixtures.tiny_config, ["transformer"]),
}
MULTI30K = dict(
    repo_id="zoo-user/tiny-en-de", source_lang="en", target_lang="de",
    dataset_name="Multi30k en-de (raw release, local files)", dataset_id="bentrevett/multi30k",
    dataset_citation=MULTI30K_CITATION,
)
RESULTS = {"test": {"sacrebleu": 35.2345678, "chrf": 61.0}, "validation": {"sacrebleu": 36.1, "perplexity": 6.3}}
SIGNATURES = {"sacrebleu": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.0"}


def model_index_values(card: ModelCard) -> dict[str, dict[str, float]]:
    """split -> metric -> value, read back from the card's YAML model-index."""
    values: dict[str, dict[str, float]] = {}
    for result in ModelCard(str(card)).data.eval_results or []:
        values.setdefault(result.dataset_split, {})[result.metric_type] = result.metric_value
    return values


def python_snippets(card: ModelCard) -> list[str]:
    return re.findall(r"```python\n(.*?)```", str(card), flags=re.S)


@pytest.mark.parametrize("family", FAMILIES)
def test_yaml_metadata_parses_with_model_index_values_as_measured(family):
    make_config, family_tags = FAMILIES[family]
    card = render_model_card(make_config(), **MULTI30K, results=RESULTS)
    data = ModelCard(str(card)).data
    assert data.library_name == "transformers" and data.pipeline_tag == "translation"
    assert data.license == "apache-2.0" and data.language == ["en", "de"]
    assert data.datasets == ["bentrevett/multi30k"] and data.metrics == ["sacrebleu", "chrf", "perplexity"]
    assert {"translation", "seq2seq", "hf_attention_zoo", "custom_code", *family_tags} <= set(data.tags)
    assert data.model_name == "tiny-en-de"
    assert model_index_values(card) == RESULTS  # unrounded
    assert {result.dataset_type for result in data.eval_results} == {"bentrevett/multi30k"}


def test_local_data_gets_a_slug_dataset_type_and_no_datasets_list():
    card = render_model_card(
        rnn_fixtures.tiny_config(), repo_id="out/dates", source_lang=SOURCE_LANG, target_lang=TARGET_LANG,
        dataset_name="synthetic dates (seed 0)", results={"test": {"exact_match": 0.949}},
    )
    data = ModelCard(str(card)).data
    assert data.datasets is None and data.eval_results[0].dataset_type == "synthetic-dates-seed-0"
    assert data.language == ["en"]  # the dates task's "human" / "iso" are formats, its text is English
    assert "It knows one task only" in str(card)


@pytest.mark.parametrize(
    "family, overrides, row",
    [
        ("rnn", dict(hidden_size=24), "| decoder hidden size (`hidden_size`) | 24 |"),
        ("rnn", dict(cell_type="lstm"), "| cell type (`cell_type`) | LSTM |"),
        ("rnn", dict(attention_wiring="luong", input_feeding=True), "| input feeding (`input_feeding`) | yes |"),
        ("transformer", dict(d_model=24), "| d_model (`d_model`) | 24 |"),
        ("transformer", dict(decoder_layers=3), "| encoder / decoder layers, N | 2 / 3 |"),
        ("transformer", dict(normalize_before=True), "| layer normalization (`normalize_before`) | pre-LN"),
    ],
)
def test_architecture_table_shows_the_config_values(family, overrides, row):
    card = render_model_card(FAMILIES[family][0](**overrides), **MULTI30K)
    assert row in str(card)


@pytest.mark.parametrize("family", FAMILIES)
def test_parameter_count_defaults_to_the_models_own(family):
    config = FAMILIES[family][0]()
    expected = AutoModelForSeq2SeqLM.from_config(config).num_parameters()
    assert f"| parameters | {expected:,} |" in str(render_model_card(config, **MULTI30K))
    assert "| parameters | 1,234 |" in str(render_model_card(config, **MULTI30K, num_parameters=1234))


@pytest.mark.parametrize(
    "family, overrides, cited, not_cited",
    [
        ("rnn", dict(), ["bahdanau2015neural", "cho2014learning"], ["luong2015effective", "sutskever2014sequence"]),
        ("rnn", dict(cell_type="lstm", attention_type="general", attention_wiring="luong", input_feeding=True),
         ["luong2015effective"], ["bahdanau2015neural", "cho2014learning", "sutskever2014sequence"]),
        ("rnn", dict(cell_type="lstm", attention_type="none"), ["sutskever2014sequence", "cho2014learning"],
         ["bahdanau2015neural", "luong2015effective"]),
        ("transformer", dict(), ["vaswani2017attention"], ["shaw2018self", "xiong2020layer"]),
        ("transformer", dict(position_embedding_type="relative", normalize_before=True),
         ["vaswani2017attention", "shaw2018self", "xiong2020layer"], []),
    ],
)
def test_citations_follow_the_config(family, overrides, cited, not_cited):
    text = str(render_model_card(FAMILIES[family][0](**overrides), **MULTI30K))
    assert all(f"{{{key}," in text for key in [*cited, "elliott2016multi30k"])
    assert not any(f"{{{key}," in text for key in not_cited)


def test_results_table_rounds_for_display_and_shows_signatures():
    card = render_model_card(transformer_fixtures.tiny_config(), **MULTI30K, results=RESULTS, signatures=SIGNATURES,
                             evaluation="Beam search with 4 beams on the raw references.")
    text = str(card)
    assert "| split | sacreBLEU | chrF | perplexity |" in text
    assert "| test | 35.23 | 61.00 | – |" in text and "| validation | 36.10 | – | 6.30 |" in text
    assert f"sacreBLEU signature: `{SIGNATURES['sacrebleu']}`" in text
    assert "Beam search with 4 beams on the raw references." in text


def test_without_results_the_card_says_so_and_has_no_model_index():
    card = render_model_card(rnn_fixtures.tiny_config(), **MULTI30K)
    assert "No evaluation has been run for this model yet." in str(card)
    assert "model-index" not in card.content.split("---")[1] and ModelCard(str(card)).data.eval_results is None


def test_training_table_and_command_appear_in_order():
    training = {"epochs": 10, "label smoothing": 0.1, "hardware": "2-core CPU"}
    text = str(render_model_card(transformer_fixtures.tiny_config(), **MULTI30K, training=training,
                                 command="python scripts/train.py --epochs 10"))
    assert "| epochs | 10 |\n| label smoothing | 0.1 |\n| hardware | 2-core CPU |" in text
    assert "```bash\npython scripts/train.py --epochs 10\n```" in text


def test_update_model_card_merges_new_results_into_the_saved_ones(tmp_path):
    config = rnn_fixtures.tiny_config()
    config.save_pretrained(tmp_path)
    readme = save_model_card(tmp_path, config=config, **MULTI30K, results=RESULTS, signatures=SIGNATURES,
                             training={"epochs": 3})
    assert readme == tmp_path / "README.md"
    assert "config" not in json.loads((tmp_path / "model_card_inputs.json").read_text())

    update_model_card(tmp_path, results={"test": {"chrf": 62.5, "exact_match": 0.25}}, command="python train.py")
    card = ModelCard.load(readme)
    assert model_index_values(card) == {
        "test": {"sacrebleu": 35.2345678, "chrf": 62.5, "exact_match": 0.25},
        "validation": {"sacrebleu": 36.1, "perplexity": 6.3},
    }
    assert SIGNATURES["sacrebleu"] in card.text and "| epochs | 3 |" in card.text and "python train.py" in card.text
    assert "| decoder hidden size (`hidden_size`) | 16 |" in card.text  # the config came back from config.json


def test_update_without_a_saved_card_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_model_card"):
        update_model_card(tmp_path, results={"test": {"chrf": 1.0}})


def test_missing_template_dir_names_the_path_and_the_fix(tmp_path):
    missing = tmp_path / "no_templates"
    with pytest.raises(FileNotFoundError, match=r"no_templates.*template_dir="):
        render_model_card(rnn_fixtures.tiny_config(), **MULTI30K, template_dir=missing)


def test_a_config_of_another_library_is_refused():
    from transformers import BartConfig

    with pytest.raises(TypeError, match="not the config of a zoo family; registered: rnn"):
        render_model_card(BartConfig(), **MULTI30K)


def save_tiny_dates_model(family: str, folder) -> None:
    """A tiny untrained model of `family` with a char tokenizer of the dates task, saved in `folder`."""
    tokenizer = train_tokenizer(make_dates_dataset(100, 10, 10, seed=0), [SOURCE_LANG, TARGET_LANG], model="char")
    tiny_model = {"rnn": rnn_fixtures.tiny_model, "transformer": transformer_fixtures.tiny_model}[family]
    tiny_model(vocab_size=len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


@pytest.mark.parametrize("family", FAMILIES)
def test_usage_snippets_run_and_translate(family, tmp_path, monkeypatch):
    folder = tmp_path / "model"
    save_tiny_dates_model(family, folder)
    card = render_model_card(FAMILIES[family][0](), repo_id=str(folder), source_lang=SOURCE_LANG,
                             target_lang=TARGET_LANG, dataset_name="synthetic dates", num_beams=2)
    remote_code, installed = python_snippets(card)
    assert "trust_remote_code=True" in remote_code and "trust_remote_code" not in installed
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(remote_code, "model card snippet 0", "exec"), namespace)
    translations = namespace["translations"]
    assert isinstance(translations, list) and len(translations) == 1 and isinstance(translations[0], str)
    namespace = {}
    exec(compile(installed, "model card snippet 1", "exec"), namespace)
    assert type(namespace["model"]).__module__.startswith("hf_attention_zoo.")  # the package's own classes


def test_remote_code_snippet_runs_where_the_package_cannot_be_imported(tmp_path):
    """The first Usage snippet is what a user without the package runs: in a fresh process that cannot import
    hf_attention_zoo it loads the RNN model through remote code and prints a list of strings (one family suffices:
    both templates share the snippet, and remote-code loading of each family is tested by its save/load tests)."""
    folder = tmp_path / "model"
    save_tiny_dates_model("rnn", folder)
    card = render_model_card(rnn_fixtures.tiny_config(), repo_id=str(folder), source_lang=SOURCE_LANG,
                             target_lang=TARGET_LANG, dataset_name="synthetic dates", num_beams=2)
    script = without_package(
        """
        import json, sys
        namespace = {}
        exec(sys.stdin.read(), namespace)
        print("TRANSLATIONS=" + json.dumps(namespace["translations"]))
        """
    )
    done = run_offline(script, home=tmp_path, input=python_snippets(card)[0])
    translations = json.loads(done.stdout.split("TRANSLATIONS=")[-1])
    assert isinstance(translations, list) and len(translations) == 1 and isinstance(translations[0], str)


def test_a_wheel_carries_the_templates_where_the_renderer_looks(tmp_path):
    """The top-level model_cards/ ships in the wheel as data files, under <prefix>/share/hf_attention_zoo/model_cards,
    which `TEMPLATE_DIRS` searches after the checkout's folder."""
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    from hf_attention_zoo.hub import model_card

    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(tmp_path), str(repo)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("hf_attention_zoo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {name.rsplit("/", 1)[1] for name in names if "/data/share/hf_attention_zoo/model_cards/" in name}
    assert shipped == {path.name for path in (repo / "model_cards").glob("*.md")}
    assert any(name.startswith("hf_attention_zoo/models/") for name in names)
    assert Path(sys.prefix) / "share" / "hf_attention_zoo" / "model_cards" in model_card.TEMPLATE_DIRS
