"""Length normalisation: each formula reorders a known n-best list as it says, and inside transformers' beam search
each method ranks finished hypotheses by its own normalised score (`sequences_scores` = the teacher-forced score of
the returned sequence, normalised the same way), changing the winner where the formulas disagree."""

import math

import pytest
import torch
from transformers import LogitsProcessorList

from hf_attention_zoo.generation.length_normalization import (
    GNMTLengthNormalization,
    gnmt_penalty,
    length_normalization_kwargs,
)
from hf_attention_zoo.generation.scoring import NORMALIZATIONS, length_normalize, score_sequences
from support.bigram_model import EOS, bigram_model, letter_tokenizer, save_folder_and_corpus, source
from support.families import CASE_IDS, CASES, build_model, sources
from support.scripts import load_script

# A known n-best list: (summed log-probability S, length |y|).
NBEST = {"short": (-2.0, 2), "middle": (-3.0, 5), "long": (-4.0, 10)}


@pytest.mark.parametrize(
    "method, alpha, expected_scores",
    [
        ("none", 1.0, {"short": -2.0, "middle": -3.0, "long": -4.0}),
        ("length", 1.0, {"short": -1.0, "middle": -0.6, "long": -0.4}),
        ("length", 0.5, {"short": -2.0 / math.sqrt(2), "middle": -3.0 / math.sqrt(5), "long": -4.0 / math.sqrt(10)}),
        ("gnmt", 1.0, {"short": -2.0 / (7 / 6), "middle": -3.0 / (10 / 6), "long": -4.0 / (15 / 6)}),
        ("gnmt", 0.0, {"short": -2.0, "middle": -3.0, "long": -4.0}),
    ],
)
def test_each_normalisation_reorders_a_known_nbest_list_as_its_formula_says(method, alpha, expected_scores):
    names = list(NBEST)
    sums = torch.tensor([NBEST[n][0] for n in names])
    lengths = torch.tensor([NBEST[n][1] for n in names])
    scores = length_normalize(sums, lengths, method, alpha)
    for name, score in zip(names, scores.tolist()):
        assert score == pytest.approx(expected_scores[name], rel=1e-6)
    order = [names[i] for i in scores.argsort(descending=True).tolist()]
    assert order == sorted(names, key=lambda n: -expected_scores[n])


def test_the_three_methods_disagree_on_the_known_list():
    names = list(NBEST)
    sums, lengths = torch.tensor([NBEST[n][0] for n in names]), torch.tensor([NBEST[n][1] for n in names])
    best = {m: names[int(length_normalize(sums, lengths, m, 1.0).argmax())] for m in NORMALIZATIONS}
    assert best == {"none": "short", "length": "long", "gnmt": "long"}
    # with a milder alpha GNMT keeps the short one where |y|**alpha already prefers the middle one
    assert names[int(length_normalize(sums, lengths, "gnmt", 0.5).argmax())] == "short"
    assert names[int(length_normalize(sums, lengths, "length", 0.5).argmax())] == "long"


@pytest.mark.parametrize("case", [c for c in CASES if c[1] in ("bahdanau-gru-additive", "sinusoidal-postLN")],
                         ids=[i for c, i in zip(CASES, CASE_IDS) if c[1] in ("bahdanau-gru-additive", "sinusoidal-postLN")])
@pytest.mark.parametrize("method, alpha", [("none", 1.0), ("length", 0.6), ("gnmt", 0.6), ("gnmt", 2.0)])
def test_beam_search_scores_are_the_normalised_teacher_forced_scores(case, method, alpha):
    family, variant = case
    model = build_model(family, variant)
    input_ids, attention_mask = sources(family)["input_ids"], sources(family)["attention_mask"]
    out = model.generate(input_ids=input_ids, attention_mask=attention_mask, num_beams=4, num_return_sequences=3,
                         max_new_tokens=8, output_scores=True, return_dict_in_generate=True,
                         **length_normalization_kwargs(method, alpha, 4))
    scores = score_sequences(model, input_ids, attention_mask, out.sequences, method, alpha)
    torch.testing.assert_close(out.sequences_scores, scores.normalized, rtol=1e-4, atol=1e-4)
    # each n-best list comes back best first by the method's own score
    per_source = out.sequences_scores.view(input_ids.shape[0], 3)
    assert torch.all(per_source[:, :-1] >= per_source[:, 1:] - 1e-6)


# The empty output has p = 0.45; the long path A B C D eos has 0.55 · 0.9^3 = 0.40; the paths in between are rare.
A, B, C, D = 4, 5, 6, 7
LONGER_WINS = {0: {EOS: 0.45, A: 0.55}, A: {B: 0.9, EOS: 0.1}, B: {C: 0.9, EOS: 0.1}, C: {D: 0.9, EOS: 0.1}}


def test_inside_the_search_each_method_picks_the_winner_its_formula_picks():
    # Candidates (S, |y|): "eos" (log .45, 1); "A eos" (log .055, 2); "A B eos" (log .0495, 3);
    # "A B C eos" (log .04455, 4); "A B C D eos" (log .40095, 5).
    model = bigram_model(LONGER_WINS)
    candidates = {(EOS,): 0.45, (A, EOS): 0.055, (A, B, EOS): 0.0495, (A, B, C, EOS): 0.04455,
                  (A, B, C, D, EOS): 0.40095}
    winners = {}
    for method, alpha in (("none", 1.0), ("length", 1.0), ("gnmt", 1.0), ("gnmt", 0.1)):
        sums = torch.tensor([math.log(p) for p in candidates.values()])
        lengths = torch.tensor([len(c) for c in candidates])
        expected = list(candidates)[int(length_normalize(sums, lengths, method, alpha).argmax())]
        generated = model.generate(source(), num_beams=5, max_new_tokens=6, early_stopping="never",
                                   **length_normalization_kwargs(method, alpha, 5))
        assert tuple(generated[0, 1:].tolist()) == expected, (method, alpha)
        winners[(method, alpha)] = expected
    # the formulas really disagree here: none and a small alpha keep the empty output, the others the long one
    assert winners == {("none", 1.0): (EOS,), ("length", 1.0): (A, B, C, D, EOS), ("gnmt", 1.0): (A, B, C, D, EOS),
                       ("gnmt", 0.1): (EOS,)}


def test_gnmt_penalty_is_wu_et_al_eq_14():
    assert gnmt_penalty(1, 0.7) == 1.0
    assert gnmt_penalty(7, 1.0) == pytest.approx(2.0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="choose one of none, length, gnmt"):
        length_normalization_kwargs("wu", 1.0, 4)
    with pytest.raises(ValueError, match="alpha >= 0"):
        GNMTLengthNormalization(-1.0, 4)
    processor = GNMTLengthNormalization(1.0, num_beams=2)
    with pytest.raises(RuntimeError, match="did not score"):  # a second step without the first
        processor(torch.tensor([[0, 5], [0, 6]]), torch.zeros(2, 16))


def test_greedy_search_needs_no_normalisation():
    assert all(length_normalization_kwargs(method, 1.0, num_beams=1) == {} for method in NORMALIZATIONS)
    assert isinstance(length_normalization_kwargs("gnmt", 1.0, num_beams=4)["logits_processor"], LogitsProcessorList)


def test_the_sweep_script_reports_each_method_on_a_dataset(tmp_path):
    options = save_folder_and_corpus(tmp_path, bigram_model(LONGER_WINS), letter_tokenizer(), max_new_tokens=6,
                                     splits=dict.fromkeys(("train", "val", "test"), ("efg\nhij\n", "abcd\nabcd\n")))
    result = load_script("length_normalization_sweep").main(
        [*options, "--num_beams", "5", "--alphas", "0.1", "1.0", "--output_dir", str(tmp_path / "out")])
    rows = {(row["normalization"], row["alpha"]): row for row in result["rows"]}
    # none and GNMT with a small alpha keep the empty output; length and GNMT with alpha 1 the long one (exact)
    assert rows[("none", None)]["empty_outputs"] == 2 and rows[("gnmt", 0.1)]["empty_outputs"] == 2
    assert rows[("length", 1.0)]["chrf"] == rows[("gnmt", 1.0)]["chrf"] == 100.0  # one-word outputs: no BLEU 4-grams
    assert rows[("length", 1.0)]["mean_output_tokens"] == 4.0
    assert "| gnmt | 1.0 | 0.00 | 100.00 | 4.00 |" in (tmp_path / "out" / "length_normalization.md").read_text()
