"""Beam-search error analysis on constructed cases whose answers are known: a bigram model (tests/support/
bigram_model.py) where greedy search misses a better output (a forced search error), references the model rates
below its output (forced model errors), exact search, and the script's three outputs."""

import json
import math

import pytest

from hf_attention_zoo.evaluation.search_errors import analyze_search_errors, exact_search, markdown_table, verdict
from support.bigram_model import EOS, bigram_model, letter_tokenizer, save_folder_and_corpus, source
from support.scripts import load_script

# `letter_tokenizer` gives a -> 4, b -> 5, ..., l -> 15 (specials 0-3 first).
A, B, X = 4, 5, 6  # "a", "b", "c"
# Greedy: a (0.6) then c (0.2, the likeliest after a) then eos: p(a c) = 0.12. Beam 2 also keeps b (0.4), which
# ends at once: p(b) = 0.4 is the model's best output.
GARDEN_PATH = {0: {A: 0.6, B: 0.4}, A: {X: 0.2, **{t: 0.8 / 9 for t in range(7, 16)}}, B: {EOS: 1.0}}


@pytest.fixture(scope="module")
def tokenizer():
    tok = letter_tokenizer()
    assert tok("ab")["input_ids"] == [A, B, EOS]
    return tok


def analyze(model, tokenizer, references, beams=(1, 2), **kwargs):
    return analyze_search_errors(model, tokenizer, tokenizer, ["dddd"] * len(references), references, list(beams),
                                 max_new_tokens=5, **kwargs)


def test_a_forced_search_error_and_forced_model_errors_are_counted_as_such(tokenizer):
    model = bigram_model(GARDEN_PATH)
    # "b": p = 0.4 beats greedy's "ac" (0.12): a search error at beam 1, found at beam 2.
    # "ad": p = 0.6 · 0.8/9 = 0.053 is below both outputs: a model error at both beams.
    # "ac": greedy's own output at beam 1; at beam 2 the model prefers "b": a model error.
    report = analyze(model, tokenizer, ["b", "ad", "ac"])
    by_beam = {s.beam_size: s.counts for s in report.summaries}
    assert by_beam[1] == {"exact match": 1, "search error": 1, "model error": 1}
    assert by_beam[2] == {"exact match": 1, "search error": 0, "model error": 2}
    verdicts = {(r.beam_size, r.index): r.verdict for r in report.results}
    assert verdicts[(1, 0)] == "search error" and verdicts[(2, 0)] == "exact match"
    assert verdicts[(1, 1)] == verdicts[(2, 1)] == "model error"
    assert verdicts[(1, 2)] == "exact match" and verdicts[(2, 2)] == "model error"
    # the scores are the model's own log-probabilities (normalisation "none")
    first = next(r for r in report.results if (r.beam_size, r.index) == (1, 0))
    assert first.reference_score == pytest.approx(math.log(0.4), abs=1e-5)
    assert first.hypothesis_score == pytest.approx(math.log(0.12), abs=1e-5)
    assert first.hypothesis == "ac"


def test_an_empty_best_output_and_the_exact_search(tokenizer):
    # eos first is the single most probable output (0.35), as Stahlberg & Byrne found for real models
    model = bigram_model({0: {EOS: 0.35, A: 0.65}, A: {B: 0.5, X: 0.5}, B: {EOS: 1.0}, X: {EOS: 1.0}})
    report = analyze(model, tokenizer, ["ab"], beams=(1, 3), exact_search_sentences=1,
                     exact_search_max_source_tokens=10)
    summaries = {s.beam_size: s for s in report.summaries}
    assert summaries[1].empty_outputs == 0 and summaries[3].empty_outputs == 1  # greedy takes a; beam 3 finds eos
    (exact,) = report.exact
    assert exact["finished"] and exact["empty"] and exact["best"] == ""
    assert exact["beam_1_missed_best"] and not exact["beam_3_missed_best"]
    found = exact_search(model, source(), max_new_tokens=5)
    assert found.tokens == [EOS] and found.score == pytest.approx(math.log(0.35), abs=1e-5) and found.finished
    assert "the model's best output is empty for 1" in markdown_table(report)


def test_exact_search_prunes_with_the_lower_bound_and_reports_a_spent_budget():
    model = bigram_model(GARDEN_PATH)
    assert exact_search(model, source(), 5).tokens == [B, EOS]
    # a bound above every output leaves nothing to find
    assert exact_search(model, source(), 5, lower_bound=math.log(0.5)).tokens == []
    spent = exact_search(model, source(), 5, node_budget=1)
    assert not spent.finished and spent.expansions == 1


def test_verdict_rules():
    assert verdict([4, 2], [4, 2], -1.0, -1.0) == "exact match"
    assert verdict([4, 2], [5, 2], -2.0, -1.0) == "search error"
    assert verdict([4, 2], [5, 2], -1.0, -1.0) == "model error"  # a tie is not a missed better output


def test_bad_arguments_are_refused(tokenizer):
    model = bigram_model(GARDEN_PATH)
    with pytest.raises(ValueError, match="one reference per source"):
        analyze_search_errors(model, tokenizer, tokenizer, ["a"], [], [1])
    with pytest.raises(ValueError, match="normalization='none'"):
        analyze(model, tokenizer, ["b"], normalization="length", exact_search_sentences=1)


def test_the_script_writes_markdown_json_and_a_plot(tokenizer, tmp_path):
    options = save_folder_and_corpus(tmp_path, bigram_model(GARDEN_PATH), tokenizer, max_new_tokens=5, splits={
        "train": ("dddd\n", "b\n"), "val": ("dddd\n", "b\n"), "test": ("dddd\ndddd\ndddd\n", "b\nad\nac\n")})
    out = tmp_path / "analysis"
    report = load_script("beam_error_analysis").main(
        [*options, "--split", "test", "--beams", "1", "2", "--output_dir", str(out)])
    assert {s["beam_size"]: s["counts"]["search error"] for s in report["summaries"]} == {1: 1, 2: 0}
    saved = json.loads((out / "search_errors.json").read_text())
    assert saved["summaries"] == report["summaries"] and len(saved["results"]) == 6
    table = (out / "search_errors.md").read_text()
    assert "| 1 | 1 | 1 | 1 |" in table and "| 2 | 1 | 0 | 2 |" in table
    assert (out / "search_errors.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
