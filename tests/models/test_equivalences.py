"""The equivalences at the heart of the project, written once for every registered family and variant
(tests/support/families.py): cached decoding = a full forward pass; cached generate() = uncached; a padded batch =
its rows one by one (greedy and beam); one beam = greedy; beam scores = the teacher-forced scores of the returned
sequences (`score_sequences`); save -> load gives identical weights and outputs; the saved folder loaded through
remote code in a fresh process without the package gives identical outputs."""

import pytest
import torch
import transformers

from hf_attention_zoo.generation.scoring import score_sequences
from hf_attention_zoo.models.transformers_compat import output_cache
from hf_attention_zoo.registry import FAMILIES, family_of
from support.families import (
    CASE_IDS,
    CASES,
    FAMILY_FIXTURES,
    build_model,
    decoder_inputs,
    source_rows,
    sources,
)

MAX_NEW_TOKENS = 8


def generate(model, inputs, **options):
    options.setdefault("max_new_tokens", MAX_NEW_TOKENS)
    with torch.no_grad():
        return model.generate(**inputs, **options)


def auto_class(model):
    """The Auto class of the model's family head (AutoModelForSeq2SeqLM, AutoModelForImageTextToText)."""
    return getattr(transformers, family_of(model.config).auto_class)


def encoder_inputs(inputs):
    """`inputs` as the encoder's positional arguments take them."""
    return inputs.get("input_ids", inputs.get("pixel_values")), inputs.get("attention_mask")


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request):
    family, variant = request.param
    return family, build_model(family, variant), sources(family)


def test_every_registered_family_has_equivalence_fixtures():
    assert set(FAMILY_FIXTURES) == set(FAMILIES)


@pytest.mark.parametrize("cache_argument", ["cache", "past_key_values"])  # 5.24+ name, and the name up to 5.23
def test_incremental_decoding_from_the_cache_equals_a_full_forward(case, cache_argument):
    _, model, inputs = case
    decoder_input_ids = decoder_inputs(inputs, model, 6)
    mask = {"attention_mask": inputs["attention_mask"]} if "attention_mask" in inputs else {}
    with torch.no_grad():
        encoder_outputs = model.get_encoder()(*encoder_inputs(inputs))
        full = model(**mask, encoder_outputs=encoder_outputs, decoder_input_ids=decoder_input_ids).logits
        cache, steps = None, []
        for t in range(decoder_input_ids.shape[1]):
            outputs = model(**mask, encoder_outputs=encoder_outputs, use_cache=True,
                            decoder_input_ids=decoder_input_ids[:, t:t + 1], **{cache_argument: cache})
            cache = output_cache(outputs)
            steps.append(outputs.logits)
    assert cache.get_seq_length() == decoder_input_ids.shape[1]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_cached_generation_equals_uncached(case, num_beams):
    _, model, inputs = case
    cached = generate(model, inputs, num_beams=num_beams)
    uncached = generate(model, inputs, num_beams=num_beams, use_cache=False)
    assert torch.equal(cached, uncached)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_a_padded_batch_generates_what_each_row_generates_alone(case, num_beams):
    _, model, inputs = case
    batched = generate(model, inputs, num_beams=num_beams)
    pad = model.config.pad_token_id
    for row, row_inputs in enumerate(source_rows(inputs)):
        alone = generate(model, row_inputs, num_beams=num_beams)[0]
        assert torch.equal(batched[row, :alone.shape[0]], alone), row
        assert torch.all(batched[row, alone.shape[0]:] == pad)


def test_beam_search_with_one_beam_equals_greedy(case):
    _, model, inputs = case
    greedy = generate(model, inputs, num_beams=1, do_sample=False)
    one_beam = generate(model, inputs, num_beams=1, do_sample=False, length_penalty=0.5)
    assert torch.equal(greedy, one_beam)


@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 1.0])
def test_beam_scores_equal_the_teacher_forced_scores_of_the_returned_sequences(case, length_penalty):
    _, model, inputs = case
    out = generate(model, inputs, num_beams=4, num_return_sequences=2, output_scores=True,
                   return_dict_in_generate=True, length_penalty=length_penalty)
    scores = score_sequences(model, inputs.get("input_ids"), inputs.get("attention_mask"), out.sequences, "length",
                             length_penalty, pixel_values=inputs.get("pixel_values"))
    torch.testing.assert_close(out.sequences_scores, scores.normalized, rtol=1e-4, atol=1e-4)


def test_save_then_load_gives_identical_weights_and_outputs(case, tmp_path):
    _, model, inputs = case
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    # The attention implementation is a run-time choice, not saved: load with the one the model ran.
    loaded = auto_class(model).from_pretrained(tmp_path, attn_implementation=model.config._attn_implementation)
    loaded.eval()
    assert type(loaded) is type(model)
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for name, tensor in original.items():
        assert torch.equal(tensor, restored[name]), name
    decoder_input_ids = decoder_inputs(inputs, model, 3)
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs, decoder_input_ids=decoder_input_ids).logits,
                                   model(**inputs, decoder_input_ids=decoder_input_ids).logits, rtol=0, atol=0)
    assert torch.equal(generate(loaded, inputs, num_beams=3), generate(model, inputs, num_beams=3))


def test_remote_code_in_a_fresh_process_without_the_package_gives_identical_outputs(tmp_path,
                                                                                   load_through_remote_code):
    """Two variants of every family (the second, and the last, which uses the newest modules), all loaded in one
    fresh process (an interpreter takes seconds to start)."""
    jobs, models = {}, {}
    for family, (variants, _, _) in FAMILY_FIXTURES.items():
        for variant in (list(variants)[1], list(variants)[-1]):
            name = f"{family}-{variant}"
            models[name] = build_model(family, variant)
            inputs = sources(family)
            models[name].save_pretrained(tmp_path / name)
            decoder_input_ids = decoder_inputs(inputs, models[name], 4)
            jobs[name] = (tmp_path / name, dict(**inputs, decoder_input_ids=decoder_input_ids),
                          dict(**inputs, num_beams=3, max_new_tokens=6), FAMILIES[family].auto_class)
    results = load_through_remote_code(jobs)
    for family, (folder, forward_inputs, generate_inputs, auto_class_name) in jobs.items():
        remote = results[family]
        assert remote["module"].startswith("transformers_modules.") and remote["zoo_modules"] == []
        # The package's model, loaded from the same folder with the same defaults (e.g. the attention implementation).
        local = getattr(transformers, auto_class_name).from_pretrained(folder).eval()
        with torch.no_grad():
            torch.testing.assert_close(remote["logits"], local(**forward_inputs).logits, rtol=0, atol=0)
            assert torch.equal(remote["sequences"], local.generate(**generate_inputs))
            torch.testing.assert_close(remote["logits"], models[family](**forward_inputs).logits, rtol=1e-5,
                                       atol=1e-5)
