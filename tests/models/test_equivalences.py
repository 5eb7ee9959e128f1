"""The equivalences at the heart of the project, written once for every registered family and variant
(tests/support/families.py): cached decoding = a full forward pass; cached generate() = uncached; a padded batch =
its rows one by one (greedy and beam); one beam = greedy; beam scores = the teacher-forced scores of the returned
sequences (`score_sequences`); save -> load gives identical weights and outputs; the saved folder loaded through
remote code in a fresh process without the package gives identical outputs."""

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from hf_attention_zoo.generation.scoring import score_sequences
from hf_attention_zoo.models.transformers_compat import output_cache
from hf_attention_zoo.registry import FAMILIES
from support.families import CASE_IDS, CASES, FAMILY_FIXTURES, build_model, sources

MAX_NEW_TOKENS = 8


def generate(model, input_ids, attention_mask, **options):
    options.setdefault("max_new_tokens", MAX_NEW_TOKENS)
    with torch.no_grad():
        return model.generate(input_ids=input_ids, attention_mask=attention_mask, **options)


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request):
    family, variant = request.param
    return family, build_model(family, variant), *sources(family)


def test_every_registered_family_has_equivalence_fixtures():
    assert set(FAMILY_FIXTURES) == set(FAMILIES)


@pytest.mark.parametrize("cache_argument", ["cache", "past_key_values"])  # 5.24+ name, and the name up to 5.23
def test_incremental_decoding_from_the_cache_equals_a_full_forward(case, cache_argument):
    _, model, input_ids, attention_mask = case
    decoder_input_ids = torch.randint(3, model.config.decoder_vocab_size, (input_ids.shape[0], 6),
                                      generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        encoder_outputs = model.get_encoder()(input_ids, attention_mask)
        full = model(attention_mask=attention_mask, encoder_outputs=encoder_outputs,
                     decoder_input_ids=decoder_input_ids).logits
        cache, steps = None, []
        for t in range(decoder_input_ids.shape[1]):
            outputs = model(attention_mask=attention_mask, encoder_outputs=encoder_outputs, use_cache=True,
                            decoder_input_ids=decoder_input_ids[:, t:t + 1], **{cache_argument: cache})
            cache = output_cache(outputs)
            steps.append(outputs.logits)
    assert cache.get_seq_length() == decoder_input_ids.shape[1]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_cached_generation_equals_uncached(case, num_beams):
    _, model, input_ids, attention_mask = case
    cached = generate(model, input_ids, attention_mask, num_beams=num_beams)
    uncached = generate(model, input_ids, attention_mask, num_beams=num_beams, use_cache=False)
    assert torch.equal(cached, uncached)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_a_padded_batch_generates_what_each_row_generates_alone(case, num_beams):
    _, model, input_ids, attention_mask = case
    batched = generate(model, input_ids, attention_mask, num_beams=num_beams)
    pad = model.config.pad_token_id
    for row in range(input_ids.shape[0]):
        length = int(attention_mask[row].sum())
        alone = generate(model, input_ids[row:row + 1, :length], attention_mask[row:row + 1, :length],
                         num_beams=num_beams)[0]
        assert torch.equal(batched[row, :alone.shape[0]], alone), row
        assert torch.all(batched[row, alone.shape[0]:] == pad)


def test_beam_search_with_one_beam_equals_greedy(case):
    _, model, input_ids, attention_mask = case
    greedy = generate(model, input_ids, attention_mask, num_beams=1, do_sample=False)
    one_beam = generate(model, input_ids, attention_mask, num_beams=1, do_sample=False, length_penalty=0.5)
    assert torch.equal(greedy, one_beam)


@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 1.0])
def test_beam_scores_equal_the_teacher_forced_scores_of_the_returned_sequences(case, length_penalty):
    _, model, input_ids, attention_mask = case
    out = generate(model, input_ids, attention_mask, num_beams=4, num_return_sequences=2, output_scores=True,
                   return_dict_in_generate=True, length_penalty=length_penalty)
    scores = score_sequences(model, input_ids, attention_mask, out.sequences, "length", length_penalty)
    torch.testing.assert_close(out.sequences_scores, scores.normalized, rtol=1e-4, atol=1e-4)


def test_save_then_load_gives_identical_weights_and_outputs(case, tmp_path):
    _, model, input_ids, attention_mask = case
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    # The attention implementation is a run-time choice, not saved: load with the one the model ran.
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path, attn_implementation=model.config._attn_implementation)
    loaded.eval()
    assert type(loaded) is type(model)
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for name, tensor in original.items():
        assert torch.equal(tensor, restored[name]), name
    decoder_input_ids = input_ids[:, :3] % model.config.decoder_vocab_size
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids, attention_mask, decoder_input_ids).logits,
                                   model(input_ids, attention_mask, decoder_input_ids).logits, rtol=0, atol=0)
    assert torch.equal(generate(loaded, input_ids, attention_mask, num_beams=3),
                       generate(model, input_ids, attention_mask, num_beams=3))


def test_remote_code_in_a_fresh_process_without_the_package_gives_identical_outputs(tmp_path,
                                                                                   load_through_remote_code):
    """Two variants of every family (the second, and the last, which uses the newest modules), all loaded in one
    fresh process (an interpreter takes seconds to start)."""
    jobs, models = {}, {}
    for family, (variants, _, _) in FAMILY_FIXTURES.items():
        for variant in (list(variants)[1], list(variants)[-1]):
            name = f"{family}-{variant}"
            models[name] = build_model(family, variant)
            input_ids, attention_mask = sources(family)
            models[name].save_pretrained(tmp_path / name)
            decoder_input_ids = input_ids[:, :4] % models[name].config.decoder_vocab_size
            jobs[name] = (tmp_path / name,
                          dict(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids),
                          dict(input_ids=input_ids, attention_mask=attention_mask, num_beams=3, max_new_tokens=6))
    results = load_through_remote_code(jobs)
    for family, (folder, forward_inputs, generate_inputs) in jobs.items():
        remote = results[family]
        assert remote["module"].startswith("transformers_modules.") and remote["zoo_modules"] == []
        # The package's model, loaded from the same folder with the same defaults (e.g. the attention implementation).
        local = AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
        with torch.no_grad():
            torch.testing.assert_close(remote["logits"], local(**forward_inputs).logits, rtol=0, atol=0)
            assert torch.equal(remote["sequences"], local.generate(**generate_inputs))
            torch.testing.assert_close(remote["logits"], models[family](**forward_inputs).logits, rtol=1e-5,
                                       atol=1e-5)
