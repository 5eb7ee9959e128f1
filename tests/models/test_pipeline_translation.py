"""`pipeline()` for the zoo's models: registered in-process as "zoo-translation", and saved with every model, so
that `pipeline(model=folder, trust_remote_code=True)` translates, batched and with generate() arguments, in a process
where the package cannot be imported."""

import json

import pytest
import torch
from transformers import pipeline

import hf_attention_zoo
from hf_attention_zoo.data.subword_tokenizer import save_tokenizers, train_tokenizer
from hf_attention_zoo.data.synthetic_dates import make_dates_dataset
from hf_attention_zoo.generation.translate import translate
from support import rnn_fixtures, transformer_fixtures
from support.fresh_process import run_offline, without_package

SOURCES = ["Tuesday 9 May 1989", "", "9/5/89", "the 1st of January 2000", "March 3, 1999"]
FIXTURES = {"rnn": rnn_fixtures, "transformer": transformer_fixtures}

PIPELINE_SCRIPT = without_package(
    """
    import json, sys
    from transformers import pipeline
    folders, sources = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    out = {}
    for family, folder in folders.items():
        translator = pipeline(model=folder, trust_remote_code=True)
        results = translator(sources, batch_size=2, num_beams=3, max_new_tokens=12)
        out[family] = [type(translator).__module__, [result["translation_text"] for result in results]]
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """family -> (folder, model, tokenizer): a tiny model of each family with a character tokenizer, saved."""
    tokenizer = train_tokenizer(make_dates_dataset(200, 10, 10, seed=0), ["human", "iso"], model="char")
    out = {}
    for family, fixtures in FIXTURES.items():
        model = fixtures.tiny_model(seed=1, vocab_size=len(tokenizer))
        folder = tmp_path_factory.mktemp(family)
        model.save_pretrained(folder)
        save_tokenizers(folder, tokenizer, None)
        out[family] = folder, model, tokenizer
    return out


def expected(model, tokenizer, sources, **generate_kwargs):
    """generate() then decode, one sentence at a time; blank sources give ""."""
    out = []
    for text in sources:
        if not text.strip():
            out.append("")
            continue
        with torch.no_grad():
            generated = model.generate(**tokenizer([text], return_tensors="pt"), **generate_kwargs)
        out.append(tokenizer.decode(generated[0], skip_special_tokens=True))
    return out


@pytest.mark.parametrize("family", sorted(FIXTURES))
def test_the_saved_config_names_the_pipeline_and_the_folder_carries_its_code(saved, family):
    folder = saved[family][0]
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"][hf_attention_zoo.TRANSLATION_TASK]["impl"] == (
        "pipeline_translation.ZooTranslationPipeline")
    assert (folder / "pipeline_translation.py").is_file()


@pytest.mark.parametrize("family", sorted(FIXTURES))
def test_the_registered_pipeline_and_translate_equal_generate_then_decode(saved, family):
    _, model, tokenizer = saved[family]
    translator = pipeline(hf_attention_zoo.TRANSLATION_TASK, model=model, tokenizer=tokenizer)
    assert isinstance(translator, hf_attention_zoo.ZooTranslationPipeline)
    want = expected(model, tokenizer, SOURCES, num_beams=3, max_new_tokens=12)
    results = translator(SOURCES, batch_size=2, num_beams=3, max_new_tokens=12)
    assert [result["translation_text"] for result in results] == want
    assert translator(SOURCES[0], num_beams=3, max_new_tokens=12) == {"translation_text": want[0]}
    assert translate(model, tokenizer, tokenizer, SOURCES, batch_size=2, num_beams=3, max_new_tokens=12) == want


def test_pipeline_with_trust_remote_code_translates_without_the_package(saved, tmp_path):
    """Every family's folder, in one fresh process (an interpreter takes seconds to start)."""
    folders = {family: str(folder) for family, (folder, _, _) in saved.items()}
    done = run_offline(PIPELINE_SCRIPT, json.dumps(folders), json.dumps(SOURCES), home=tmp_path)
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for family, (_, model, tokenizer) in saved.items():
        module, translations = results[family]
        assert module.startswith("transformers_modules.")
        assert translations == expected(model, tokenizer, SOURCES, num_beams=3, max_new_tokens=12)
