"""CTranslate2 export (`hf_attention_zoo.export.ctranslate2_export`): the exported model translates token for token, with
the same scores, as `generate()` does, for every Transformer variant; what cannot be exported is refused clearly."""

import sys

import pytest
import torch
from transformers import AutoTokenizer

from hf_attention_zoo import RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration
from hf_attention_zoo.export.ctranslate2_export import export_to_ctranslate2
from hf_attention_zoo.data.subword_tokenizer import load_tokenizers, save_tokenizers, train_tokenizer
from hf_attention_zoo.data.synthetic_dates import make_dates_dataset
from support.transformer_fixtures import EOS, VARIANT_IDS, VARIANTS, tiny_model

ctranslate2 = pytest.importorskip(
    "ctranslate2", reason="the optional ctranslate2 package is missing: pip install 'hf_attention_zoo[ctranslate2]'"
)

MAX_NEW_TOKENS = 12


@pytest.fixture(scope="module", autouse=True)
def restore_torch_threads():
    """ctranslate2.Translator(intra_threads=1) sets the process's OpenMP thread count, which torch's CPU convolutions
    also use; later tests in this process would then compute in another order than a fresh process does (and a
    comparison with a child process, e.g. remote code, would differ in the last bit). Give torch its count back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dates():
    return make_dates_dataset(200, 20, 20, seed=0)


@pytest.fixture(scope="module")
def tokenizer(dates):
    return train_tokenizer(dates, ["human", "iso"], model="char")


@pytest.fixture(scope="module")
def sources(dates) -> list[str]:
    return [pair["human"] for pair in dates["test"]["translation"][:8]]


def _model(source_tokenizer, target_tokenizer, sources: list[str], **overrides):
    """A tiny random model (`tiny_model`: weights large enough that candidates rarely tie) sized to the tokenizers,
    whose </s> output row points along its mean decoder state, scaled so that </s> beats every other token in a
    fifth of random decoder states: some outputs end early and others run to the length limit."""
    model = tiny_model(vocab_size=len(source_tokenizer), decoder_vocab_size=len(target_tokenizer), **overrides)
    batch = source_tokenizer(sources, return_tensors="pt", padding=True)
    generator = torch.Generator().manual_seed(0)
    decoder_input_ids = torch.randint(4, len(target_tokenizer), (len(sources), MAX_NEW_TOKENS), generator=generator)
    with torch.no_grad():
        states = model.model(**batch, decoder_input_ids=decoder_input_ids).last_hidden_state  # (batch, len, d_model)
        direction = states.mean(dim=(0, 1))
        direction = direction / direction.norm()
        logits = model.lm_head(states)
        logits[..., EOS] = -torch.inf
        along = states @ direction  # (batch, len)
        # </s> wins in a state where scale * along > the best other logit.
        scale = torch.quantile((logits.max(dim=-1).values / along)[along > 0], 0.2)
        model.lm_head.weight[EOS] = scale * direction
    return model


def _export(tmp_path, model, tokenizer, target_tokenizer=None, **options):
    """Save the model with its tokenizer(s), export it, and open it with CTranslate2."""
    model.save_pretrained(tmp_path / "model")
    save_tokenizers(tmp_path / "model", tokenizer, target_tokenizer)
    output_dir = export_to_ctranslate2(tmp_path / "model", tmp_path / "ct2", **options)
    return ctranslate2.Translator(str(output_dir), device="cpu", intra_threads=1)


def _target_tokens(target_tokenizer, ids: list[int]) -> list[str]:
    """Ids as the exported vocabulary writes them (`<unused{id}>` for a row the tokenizer has no token for)."""
    return [token or f"<unused{i}>" for i, token in zip(ids, target_tokenizer.convert_ids_to_tokens(ids))]


def _generate(model, tokenizer, target_tokenizer, sources, num_beams: int, length_penalty: float = 1.0):
    """`generate()`'s outputs up to and including </s>, as tokens, and their scores: `sequences_scores` for beam
    search, the summed log-probabilities for greedy decoding."""
    options = dict(num_beams=num_beams, max_new_tokens=MAX_NEW_TOKENS, return_dict_in_generate=True, output_scores=True)
    if num_beams > 1:
        options.update(length_penalty=length_penalty, early_stopping=True)
    with torch.no_grad():
        generated = model.generate(**tokenizer(sources, return_tensors="pt", padding=True), **options)
    outputs, lengths = [], []
    for row in generated.sequences[:, 1:].tolist():  # drop decoder_start_token_id
        length = row.index(EOS) + 1 if EOS in row else len(row)
        outputs.append(_target_tokens(target_tokenizer, row[:length]))
        lengths.append(length)
    if num_beams > 1:
        return outputs, generated.sequences_scores.tolist()
    log_probs = model.compute_transition_scores(generated.sequences, generated.scores, normalize_logits=True)
    return outputs, [log_probs[i, :length].sum().item() for i, length in enumerate(lengths)]


def _translate(translator, tokenizer, sources, num_beams: int, length_penalty: float = 1.0):
    """CTranslate2 with the settings that reproduce `_generate` (see the module docstring of ctranslate2_export)."""
    source_tokens = [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(sources).input_ids]  # end with </s>
    results = translator.translate_batch(
        source_tokens,
        beam_size=num_beams,
        length_penalty=length_penalty if num_beams > 1 else 0.0,  # greedy: the plain sum of log-probabilities
        max_decoding_length=MAX_NEW_TOKENS,
        min_decoding_length=0,
        return_end_token=True,
        return_scores=True,
    )
    return [result.hypotheses[0] for result in results], [result.scores[0] for result in results]


def _assert_same(expected, got):
    (expected_tokens, expected_scores), (tokens, scores) = expected, got
    assert tokens == expected_tokens
    assert scores == pytest.approx(expected_scores, abs=1e-4)


@pytest.mark.parametrize("num_beams", [1, 4])
@pytest.mark.parametrize(("position_type", "normalize_before"), VARIANTS, ids=VARIANT_IDS)
def test_translations_and_scores_equal_generate(tmp_path, tokenizer, sources, position_type, normalize_before,
                                                num_beams):
    model = _model(tokenizer, tokenizer, sources, position_embedding_type=position_type,
                   normalize_before=normalize_before)
    translator = _export(tmp_path, model, tokenizer)
    _assert_same(_generate(model, tokenizer, tokenizer, sources, num_beams),
                 _translate(translator, tokenizer, sources, num_beams))


@pytest.mark.parametrize(
    "overrides",
    [
        dict(tie_word_embeddings=False),
        dict(share_encoder_decoder_embeddings=False),  # output projection tied to the decoder's own table
        dict(share_encoder_decoder_embeddings=False, tie_word_embeddings=False),
        dict(scale_embedding=False),
        dict(encoder_attention_heads=2, decoder_layers=1, decoder_ffn_dim=24),
        dict(activation_function="gelu"),
    ],
    ids=["untied-output", "unshared-embeddings", "nothing-shared", "unscaled-embeddings", "uneven-stacks", "gelu"],
)
def test_other_configurations_translate_as_generate(tmp_path, tokenizer, sources, overrides):
    model = _model(tokenizer, tokenizer, sources, **overrides)
    translator = _export(tmp_path, model, tokenizer)
    _assert_same(_generate(model, tokenizer, tokenizer, sources, 4), _translate(translator, tokenizer, sources, 4))


@pytest.mark.parametrize("num_beams", [1, 4])
def test_separate_vocabularies_translate_as_generate(tmp_path, dates, sources, num_beams):
    source_tokenizer = train_tokenizer(dates, "human", model="char")
    target_tokenizer = train_tokenizer(dates, "iso", model="char")  # far smaller: the target table has unused rows
    model = _model(source_tokenizer, target_tokenizer, sources, share_encoder_decoder_embeddings=False)
    translator = _export(tmp_path, model, source_tokenizer, target_tokenizer)
    _assert_same(_generate(model, source_tokenizer, target_tokenizer, sources, num_beams),
                 _translate(translator, source_tokenizer, sources, num_beams))
    assert (tmp_path / "ct2" / "source_vocabulary.json").is_file()
    assert (tmp_path / "ct2" / "target_vocabulary.json").is_file()
    exported_source, exported_target = load_tokenizers(tmp_path / "ct2")  # saved with the model for its users
    assert exported_source.get_vocab() == source_tokenizer.get_vocab()
    assert exported_target.get_vocab() == target_tokenizer.get_vocab()


@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 2.0])
def test_length_penalties_agree(tmp_path, tokenizer, sources, length_penalty):
    # With 0.0 CTranslate2 stops as soon as the top beam finishes; the best hypothesis is still the same.
    model = _model(tokenizer, tokenizer, sources)
    translator = _export(tmp_path, model, tokenizer)
    _assert_same(_generate(model, tokenizer, tokenizer, sources, 4, length_penalty),
                 _translate(translator, tokenizer, sources, 4, length_penalty))


@pytest.mark.parametrize("num_beams", [1, 4])
def test_the_compared_outputs_end_both_at_eos_and_at_the_length_limit(tokenizer, sources, num_beams):
    outputs, _ = _generate(_model(tokenizer, tokenizer, sources), tokenizer, tokenizer, sources, num_beams)
    assert any(output[-1] == tokenizer.eos_token for output in outputs)
    assert any(len(output) == MAX_NEW_TOKENS and output[-1] != tokenizer.eos_token for output in outputs)


def test_exported_folder_loads_with_autotokenizer(tmp_path, tokenizer, sources):
    _export(tmp_path, _model(tokenizer, tokenizer, sources), tokenizer)
    assert AutoTokenizer.from_pretrained(tmp_path / "ct2").tokenize(sources[0]) == tokenizer.tokenize(sources[0])


def test_sinusoidal_table_has_max_positions_rows(tmp_path, tokenizer, sources):
    translator = _export(tmp_path, _model(tokenizer, tokenizer, sources), tokenizer, max_positions=8)
    long_source = tokenizer.convert_ids_to_tokens(tokenizer("Thursday, July 27th, 2000").input_ids)
    with pytest.raises(RuntimeError, match="No position encodings"):
        translator.translate_batch([long_source], beam_size=1)


def test_max_positions_is_refused_without_sinusoids(tmp_path, tokenizer, sources):
    with pytest.raises(ValueError, match="max_positions"):
        _export(tmp_path, _model(tokenizer, tokenizer, sources, position_embedding_type="learned"), tokenizer,
                max_positions=8)


def test_quantized_export_translates_and_overwrites_only_when_forced(tmp_path, tokenizer, sources):
    translator = _export(tmp_path, _model(tokenizer, tokenizer, sources), tokenizer, quantization="int8")
    assert len(_translate(translator, tokenizer, sources, 4)[0]) == len(sources)
    with pytest.raises(RuntimeError, match="already exists"):
        export_to_ctranslate2(tmp_path / "model", tmp_path / "ct2")
    export_to_ctranslate2(tmp_path / "model", tmp_path / "ct2", force=True)


def test_rnn_family_is_refused(tmp_path):
    rnn = RNNSeq2SeqForConditionalGeneration(RNNSeq2SeqConfig(vocab_size=20, embedding_size=8, hidden_size=8))
    rnn.save_pretrained(tmp_path / "rnn")
    with pytest.raises(NotImplementedError, match="the rnn family.*no specification for it.*only these families export: transformer"):
        export_to_ctranslate2(tmp_path / "rnn", tmp_path / "ct2")


def test_unsupported_activation_is_refused(tmp_path, tokenizer):
    tiny_model(vocab_size=len(tokenizer), activation_function="tanh").save_pretrained(tmp_path / "model")
    with pytest.raises(NotImplementedError, match="no activation 'tanh'"):
        export_to_ctranslate2(tmp_path / "model", tmp_path / "ct2")


def test_a_folder_without_tokenizer_is_refused(tmp_path, tokenizer):
    tiny_model(vocab_size=len(tokenizer)).save_pretrained(tmp_path / "model")
    with pytest.raises(ValueError, match="save_tokenizers"):
        export_to_ctranslate2(tmp_path / "model", tmp_path / "ct2")


def test_missing_ctranslate2_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # makes `import ctranslate2` fail
    with pytest.raises(ImportError, match=r"pip install 'hf_attention_zoo\[ctranslate2\]'"):
        export_to_ctranslate2(tmp_path, tmp_path / "ct2")
