"""Tests of hf_attention_zoo.evaluation.attention_maps and the scripts that use it: the attention map traced through
beam search (and greedy search) for every returned hypothesis equals the map of a teacher-forced pass over that
sequence, in every family and variant with attention; rows are distributions over the real source tokens; the
Pharaoh alignment, token labels and heatmap; scripts/plot_attention.py and translate.py --print_alignments."""

import functools

import pytest
import torch

from hf_attention_zoo.evaluation.attention_maps import (
    VISIBLE_SPACE,
    HypothesisAttention,
    generate_with_attention,
    pharaoh_alignment,
    plot_attention,
    readable_tokens,
    select_attention,
    teacher_forced_attention,
)
from hf_attention_zoo.data.subword_tokenizer import save_tokenizers, train_tokenizer
from hf_attention_zoo.data.synthetic_dates import make_dates_dataset
from support import rnn_fixtures
from support.families import CASE_IDS, CASES, FAMILY_FIXTURES, build_model, sources
from support.scripts import load_script

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_NEW_TOKENS = 8


def _has_attention(family: str, variant: str) -> bool:
    # The RNN fixtures default to additive attention; the context-vector variants switch it off.
    return FAMILY_FIXTURES[family][0][variant].get("attention_type") != "none"


ATTENTION_CASES = [(case, case_id) for case, case_id in zip(CASES, CASE_IDS) if _has_attention(*case)]
# The families whose sources are padded token ids (the captioner's are images).
TEXT_FAMILIES = [family for family in FAMILY_FIXTURES if "input_ids" in sources(family)]


def _teacher_forced(model, inputs, sequences):
    return teacher_forced_attention(model, inputs.get("input_ids"), inputs.get("attention_mask"), sequences,
                                    pixel_values=inputs.get("pixel_values"))
NO_ATTENTION_CASES = [(case, case_id) for case, case_id in zip(CASES, CASE_IDS) if not _has_attention(*case)]


@functools.cache
def _model(family: str, variant: str):
    return build_model(family, variant)


def _assert_same_maps(traced: list[HypothesisAttention], reference: list[HypothesisAttention]):
    assert len(traced) == len(reference)
    for mine, theirs in zip(traced, reference):
        assert mine.source_index == theirs.source_index
        assert torch.equal(mine.source_ids, theirs.source_ids) and torch.equal(mine.target_ids, theirs.target_ids)
        assert mine.weights.shape == theirs.weights.shape
        torch.testing.assert_close(mine.weights, theirs.weights, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("family", "variant"), [case for case, _ in ATTENTION_CASES],
                         ids=[case_id for _, case_id in ATTENTION_CASES])
def test_beam_traced_attention_of_every_hypothesis_equals_teacher_forced_attention(family, variant):
    model, inputs = _model(family, variant), sources(family)
    k = 3
    output, traced = generate_with_attention(model, **inputs, num_beams=4, num_return_sequences=k,
                                             max_new_tokens=MAX_NEW_TOKENS)
    assert len(traced) == next(iter(inputs.values())).shape[0] * k
    assert [hypothesis.source_index for hypothesis in traced] == [row // k for row in range(len(traced))]
    _assert_same_maps(traced, _teacher_forced(model, inputs, output.sequences))


def _first_variant_with_attention(family: str) -> str:
    return next(variant for f, variant in CASES if f == family and _has_attention(f, variant))


@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_following_the_row_a_hypothesis_ended_on_would_give_another_map(family):
    """The equivalence above can tell: beam search moves hypotheses between running rows, and reading every step
    from the row a hypothesis ended on (no tracing) gives maps that differ from the traced ones."""
    model = _model(family, _first_variant_with_attention(family))
    input_ids, attention_mask = sources(family)["input_ids"], sources(family)["attention_mask"]
    output, traced = generate_with_attention(model, input_ids, attention_mask, num_beams=4, num_return_sequences=3,
                                             max_new_tokens=MAX_NEW_TOKENS)
    differs = []
    for row, hypothesis in enumerate(traced):
        last_row = int(output.beam_indices[row, hypothesis.target_length - 1])
        followed = torch.stack([torch.stack([layer[last_row, :, -1] for layer in output.cross_attentions[step]])
                                for step in range(hypothesis.target_length)], dim=2)  # (layers, heads, tgt, src_len)
        followed = followed[..., attention_mask[hypothesis.source_index].bool()]
        differs.append(not torch.allclose(followed, hypothesis.weights, atol=1e-3))
    assert any(differs)


@pytest.mark.parametrize(("family", "variant"), [case for case, _ in ATTENTION_CASES],
                         ids=[case_id for _, case_id in ATTENTION_CASES])
def test_greedy_attention_equals_teacher_forced_attention(family, variant):
    model, inputs = _model(family, variant), sources(family)
    output, traced = generate_with_attention(model, **inputs, num_beams=1, max_new_tokens=MAX_NEW_TOKENS)
    assert getattr(output, "beam_indices", None) is None
    _assert_same_maps(traced, _teacher_forced(model, inputs, output.sequences))


@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_rows_sum_to_one_over_the_real_source_and_padded_positions_get_zero_attention(family):
    model = _model(family, _first_variant_with_attention(family))
    input_ids, attention_mask = sources(family)["input_ids"], sources(family)["attention_mask"]
    output, traced = generate_with_attention(model, input_ids, attention_mask, num_beams=4, num_return_sequences=2,
                                             max_new_tokens=MAX_NEW_TOKENS)
    padded = (attention_mask == 0).repeat_interleave(4, dim=0)  # generate's running rows: num_beams per source
    assert padded.any()
    for step in output.cross_attentions:
        for layer in step:  # (batch · num_beams, heads, 1, src_len)
            assert torch.all(layer.transpose(1, 3)[padded] == 0)
    for hypothesis in traced:
        length = int(attention_mask[hypothesis.source_index].sum())
        assert hypothesis.source_length == length
        assert torch.equal(hypothesis.source_ids, input_ids[hypothesis.source_index, :length])
        torch.testing.assert_close(hypothesis.weights.sum(dim=-1), torch.ones(hypothesis.weights.shape[:-1]))
    eos = model.config.eos_token_id
    for hypothesis in traced:  # cut after the first eos; only those that reached the length limit lack one
        assert eos not in hypothesis.target_ids[:-1].tolist()
        assert hypothesis.target_ids[-1] == eos or hypothesis.target_length == MAX_NEW_TOKENS


@pytest.mark.parametrize(("family", "variant"), [case for case, _ in NO_ATTENTION_CASES],
                         ids=[case_id for _, case_id in NO_ATTENTION_CASES])
def test_a_model_without_attention_is_a_clear_error(family, variant):
    model, inputs = _model(family, variant), sources(family)
    with pytest.raises(ValueError, match="returned no cross-attention weights.*attention_type='none'"):
        generate_with_attention(model, **inputs, max_new_tokens=2)
    with pytest.raises(ValueError, match="returned no cross-attention weights"):
        _teacher_forced(model, inputs, torch.zeros(3, 3, dtype=torch.long))


def test_bad_arguments_are_clear_errors():
    model = _model("rnn", "bahdanau-gru-additive")
    input_ids, attention_mask = sources("rnn")["input_ids"], sources("rnn")["attention_mask"]
    with pytest.raises(ValueError, match="output_attentions must be True"):
        generate_with_attention(model, input_ids, attention_mask, output_attentions=False)
    with pytest.raises(ValueError, match="decoder_input_ids is not supported"):
        generate_with_attention(model, input_ids, attention_mask, decoder_input_ids=input_ids[:, :1])
    with pytest.raises(ValueError, match="4 sequences for 3 sources"):
        teacher_forced_attention(model, input_ids, attention_mask, torch.zeros(4, 3, dtype=torch.long))
    weights = torch.rand(2, 4, 3, 5)
    with pytest.raises(ValueError, match="head=4 is out of range: these weights have 4 heads"):
        select_attention(weights, head=4)
    with pytest.raises(ValueError, match=r"got shape \(3, 5\)"):
        select_attention(weights[0, 0])
    with pytest.raises(ValueError, match="one \\(tgt_len, src_len\\) map"):
        pharaoh_alignment(weights)


def test_select_attention_picks_a_layer_and_head_or_averages():
    weights = torch.rand(2, 4, 3, 5)
    assert torch.equal(select_attention(weights, layer=1, head=2), weights[1, 2])
    torch.testing.assert_close(select_attention(weights, layer=1), weights[1].mean(dim=0))
    torch.testing.assert_close(select_attention(weights, head=3), weights[:, 3].mean(dim=0))
    torch.testing.assert_close(select_attention(weights), weights.mean(dim=(0, 1)))


# Rows: target tokens t0 t1 t2 </s>; columns: source tokens s0 s1 s2 </s>.
HAND_MADE = torch.tensor([
    [0.1, 0.7, 0.1, 0.1],
    [0.4, 0.2, 0.2, 0.2],
    [0.1, 0.1, 0.3, 0.5],  # most on the source </s>: the link goes to the best real token, s2
    [0.2, 0.2, 0.2, 0.4],
])


@pytest.mark.parametrize(("source_eos", "target_eos", "expected"), [
    (True, True, "1-0 0-1 2-2"),
    (False, True, "1-0 0-1 3-2"),
    (True, False, "1-0 0-1 2-2 0-3"),  # the tie in the last row goes to the first source token
], ids=["eos-both-sides", "source-without-eos", "target-cut-before-eos"])
def test_pharaoh_alignment_of_a_hand_made_matrix(source_eos, target_eos, expected):
    assert pharaoh_alignment(HAND_MADE, source_eos=source_eos, target_eos=target_eos) == expected


def test_hypothesis_alignment_leaves_out_eos_only_where_the_ids_have_it():
    weights = HAND_MADE[None, None]
    ended = HypothesisAttention(0, torch.tensor([5, 6, 7, 2]), torch.tensor([8, 9, 10, 2]), weights, (2,))
    assert ended.alignment() == "1-0 0-1 2-2"
    cut = HypothesisAttention(0, torch.tensor([5, 6, 7, 8]), torch.tensor([8, 9, 10, 11]), weights, (2,))
    assert cut.alignment() == "1-0 0-1 3-2 3-3"
    assert pharaoh_alignment(torch.ones(1, 1)) == ""  # </s> alone on both sides: nothing to link


@pytest.fixture(scope="module")
def dates():
    return make_dates_dataset(200, 20, 20, seed=0)


@pytest.fixture(scope="module")
def char_tokenizer(dates):
    return train_tokenizer(dates, ["human", "iso"], model="char")


def test_readable_tokens_show_word_boundaries_and_special_tokens(dates, char_tokenizer):
    ids = char_tokenizer("9 May")["input_ids"]
    assert readable_tokens(char_tokenizer, ids) == ["9", VISIBLE_SPACE, "M", "a", "y", "</s>"]
    bpe = train_tokenizer(dates, ["human", "iso"], model="bpe", vocab_size=120)
    tokens = readable_tokens(bpe, bpe("Tuesday 9 May 1989")["input_ids"])
    assert tokens[-1] == "</s>" and "▁" not in "".join(tokens)
    assert "".join(tokens[:-1]).replace(VISIBLE_SPACE, " ").strip() == "Tuesday 9 May 1989"


def test_plot_attention_writes_a_png(tmp_path):
    weights = torch.softmax(torch.randn(4, 6), dim=-1)
    path = plot_attention(weights, ["T", "u", VISIBLE_SPACE, "9", "x", "</s>"], ["1", "9", "-", "</s>"],
                          tmp_path / "maps" / "map.png", title="a title")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(ValueError, match="do not fit 4 target and 5 source tokens"):
        plot_attention(weights, ["a"] * 5, ["b"] * 4, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="ending in one of .png"):
        plot_attention(weights, ["a"] * 6, ["b"] * 4, tmp_path / "map.jpg")


plot_script, translate_script = load_script("plot_attention"), load_script("translate")
SENTENCES = ["Tuesday 9 May 1989", "9/5/89", "the 7th of June 2029"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory, char_tokenizer):
    """(folder, model) of a tiny RNN with attention and a character tokenizer, saved as the scripts load it."""
    folder = tmp_path_factory.mktemp("rnn-dates")
    model = rnn_fixtures.tiny_model(seed=1, vocab_size=len(char_tokenizer))
    model.generation_config.max_new_tokens = 6
    model.save_pretrained(folder)
    save_tokenizers(folder, char_tokenizer)
    return folder, model


def _expected(model, tokenizer, text: str, **generate_kwargs) -> list[tuple[str, str]]:
    batch = tokenizer([text], return_tensors="pt")
    _, hypotheses = generate_with_attention(model, batch["input_ids"], batch["attention_mask"], **generate_kwargs)
    return [(tokenizer.decode(h.target_ids, skip_special_tokens=True), h.alignment()) for h in hypotheses]


def test_plot_attention_script_writes_one_png_per_hypothesis_and_prints_alignments(saved, char_tokenizer, tmp_path,
                                                                                   capsys):
    folder, model = saved
    plotted = plot_script.main(["--model", str(folder), "--output", str(tmp_path / "attention.png"), "--num_beams", "3",
                                "--num_return_sequences", "2", SENTENCES[0]])
    expected = _expected(model, char_tokenizer, SENTENCES[0], num_beams=3, num_return_sequences=2)
    assert [(p.translation, p.alignment) for p in plotted] == expected
    assert [p.path.name for p in plotted] == ["attention-1.png", "attention-2.png"]
    assert all(p.path.read_bytes()[:8] == PNG_SIGNATURE for p in plotted)
    assert capsys.readouterr().out.splitlines() == [f"{text} ||| {alignment}" for text, alignment in expected]
    assert all(link.count("-") == 1 for _, alignment in expected for link in alignment.split())

    single = plot_script.main(["--model", str(folder), "--output", str(tmp_path / "one.png"), "--layer", "0",
                               "--head", "0", SENTENCES[1]])
    assert [p.path for p in single] == [tmp_path / "one.png"] and single[0].path.is_file()


@pytest.mark.parametrize(("arguments", "message"), [
    (["--num_return_sequences", "2"], "--num_return_sequences 2 needs at least as many beams; the search has 1"),
    (["--layer", "1"], "layer=1 is out of range"),
    (["--output", "attention.jpg"], "--output attention.jpg: name a file ending in one of .png"),
], ids=["more-sequences-than-beams", "no-such-layer", "unknown-format"])
def test_plot_attention_script_bad_options_are_clear_errors(saved, tmp_path, arguments, message):
    argv = ["--model", str(saved[0]), "--output", str(tmp_path / "a.png"), *arguments, SENTENCES[0]]
    with pytest.raises(ValueError, match=message):
        plot_script.main(argv)


def test_translate_print_alignments_appends_the_alignment_to_the_same_translations(saved, char_tokenizer, capsys):
    folder, model = saved
    plain = translate_script.main(["--model", str(folder), "--num_beams", "2", *SENTENCES])
    capsys.readouterr()
    # The switch takes no value, so a sentence can follow it.
    lines = translate_script.main(["--model", str(folder), "--num_beams", "2", "--batch_size", "2",
                                   "--print_alignments", *SENTENCES, " "])
    expected = [_expected(model, char_tokenizer, text, num_beams=2)[0] for text in SENTENCES]
    assert [text for text, _ in expected] == plain
    assert lines == [f"{text} ||| {alignment}" for text, alignment in expected] + [" ||| "]
    assert capsys.readouterr().out.splitlines() == lines


def test_translate_print_alignments_needs_the_package(saved):
    with pytest.raises(ValueError, match="--print_alignments needs the hf_attention_zoo package"):
        translate_script.main(["--model", str(saved[0]), "--trust_remote_code", "true", "--print_alignments", "9/5/89"])
