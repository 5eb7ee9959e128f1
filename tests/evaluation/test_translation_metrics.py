"""Tests of hf_attention_zoo.evaluation.translation_metrics: sacreBLEU / chrF values and signatures, compute_metrics for
Seq2SeqTrainer, and teacher-forced perplexity pooled over batches."""

import math

import numpy as np
import pytest
import sacrebleu
import torch
from transformers import EvalPrediction

from hf_attention_zoo.data.subword_tokenizer import train_tokenizer
from hf_attention_zoo.data.synthetic_dates import make_dates_dataset
from hf_attention_zoo.evaluation.translation_metrics import corpus_scores, generation_metrics, teacher_forced_perplexity
from support.rnn_fixtures import padded_batch, tiny_model

HYPOTHESES = ["The cat sat on the mat.", "A man reads a book in the park!", "Two dogs run."]
REFERENCES = ["The cat sat on a mat.", "A man is reading a book in the park.", "two dogs are running."]


def test_identical_hypotheses_score_100():
    scores = corpus_scores(REFERENCES, REFERENCES)
    assert [scores[name] for name in ("sacrebleu", "chrf", "bleu_lowercase_tokenized")] == pytest.approx([100.0] * 3)


def test_one_sentence_bleu_is_the_geometric_mean_of_its_ngram_precisions():
    # "the cat sat on the mat" vs "the cat sat on a mat": 1- to 4-gram matches 5/6, 3/5, 2/4, 1/3; same length, BP = 1.
    scores = corpus_scores(["the cat sat on the mat"], ["the cat sat on a mat"])
    by_hand = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert scores["sacrebleu"] == pytest.approx(by_hand)
    assert scores["bleu_lowercase_tokenized"] == pytest.approx(by_hand)


def test_scores_agree_with_calling_sacrebleu_directly():
    scores = corpus_scores(HYPOTHESES, REFERENCES)
    assert scores["sacrebleu"] == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(HYPOTHESES, [REFERENCES]).score)
    lowercased = sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES], lowercase=True).score
    assert scores["bleu_lowercase_tokenized"] == pytest.approx(lowercased)
    assert scores["bleu_lowercase_tokenized"] > scores["sacrebleu"]  # "Two" / "two" only match lowercased


def test_only_the_lowercased_bleu_ignores_case():
    scores = corpus_scores(["The Cat Sat On The Mat"], ["the cat sat on the mat"])
    assert scores["bleu_lowercase_tokenized"] == pytest.approx(100.0)
    assert scores["sacrebleu"] < 50.0


def test_signatures_name_case_and_tokenization():
    signatures = corpus_scores(HYPOTHESES, REFERENCES)["signatures"]
    assert set(signatures) == {"sacrebleu", "chrf", "bleu_lowercase_tokenized"}
    assert "case:mixed" in signatures["sacrebleu"] and "tok:13a" in signatures["sacrebleu"]
    assert "case:lc" in signatures["bleu_lowercase_tokenized"] and "tok:13a" in signatures["bleu_lowercase_tokenized"]
    assert "nc:6" in signatures["chrf"]
    assert all(f"version:{sacrebleu.__version__}" in signature for signature in signatures.values())


def test_lists_of_different_lengths_are_refused_with_both_counts():
    with pytest.raises(ValueError, match=r"3 hypotheses but 2 references"):
        corpus_scores(HYPOTHESES, REFERENCES[:2])


def test_empty_lists_are_refused():
    with pytest.raises(ValueError, match="at least one sentence"):
        corpus_scores([], [])


@pytest.fixture(scope="module")
def date_tokenizer():
    return train_tokenizer(make_dates_dataset(200, 20, 20, seed=0), ["human", "iso"], model="char")


def _padded(rows: list[list[int]]) -> np.ndarray:
    """Rows padded with -100 to one length, as the Trainer gathers generated ids and labels."""
    width = max(map(len, rows))
    return np.array([row + [-100] * (width - len(row)) for row in rows])


def test_generation_metrics_decode_around_minus_100_padding(date_tokenizer):
    references = ["1989-05-09", "2001-12-31", "9 May"]
    hypotheses = ["1989-05-09", "2001-12-30", "9 Mar"]
    labels = _padded(date_tokenizer(text_target=references)["input_ids"])
    # generate() output starts with decoder_start_token_id (<s>); the Trainer pads it with -100 across batches.
    generated = _padded([[date_tokenizer.bos_token_id] + ids for ids in date_tokenizer(hypotheses)["input_ids"]])
    assert (labels == -100).any() and (generated == -100).any()

    metrics = generation_metrics(date_tokenizer)(EvalPrediction(predictions=generated, label_ids=labels))
    expected = corpus_scores(hypotheses, references)
    assert metrics == pytest.approx({"bleu": expected["sacrebleu"], "chrf": expected["chrf"], "exact_match": 1 / 3})


def test_generation_metrics_of_perfect_predictions(date_tokenizer):
    labels = _padded(date_tokenizer(text_target=["1989-05-09", "2001-12-31"])["input_ids"])
    metrics = generation_metrics(date_tokenizer)(EvalPrediction(predictions=labels, label_ids=labels))
    assert metrics == pytest.approx({"bleu": 100.0, "chrf": 100.0, "exact_match": 1.0})


def _batch(seed: int, lengths: tuple[int, ...], label_lengths: tuple[int, ...]) -> dict[str, torch.Tensor]:
    input_ids, attention_mask = padded_batch(seed=seed, lengths=lengths)
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(3, 99, (len(label_lengths), max(label_lengths)), generator=generator)
    for row, length in enumerate(label_lengths):
        labels[row, length:] = -100
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def test_perplexity_of_one_batch_is_exp_of_the_model_loss():
    model = tiny_model()
    batch = _batch(seed=0, lengths=(7, 5, 3), label_lengths=(4, 6, 2))
    result = teacher_forced_perplexity(model, [batch])
    with torch.no_grad():
        loss = model(**batch).loss.item()
    assert result["tokens"] == 12
    assert result["nll_per_token"] == pytest.approx(loss, rel=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(loss), rel=1e-5)


def test_perplexity_over_batches_weighs_each_batch_by_its_tokens():
    model = tiny_model()
    batches = [_batch(seed=1, lengths=(6, 4), label_lengths=(7, 7)), _batch(seed=2, lengths=(5,), label_lengths=(2,))]
    with torch.no_grad():
        losses = [model(**batch).loss.item() for batch in batches]
    counts = [14, 2]
    result = teacher_forced_perplexity(model, batches)
    pooled = sum(loss * count for loss, count in zip(losses, counts)) / sum(counts)
    assert result["tokens"] == 16
    assert result["perplexity"] == pytest.approx(math.exp(pooled), rel=1e-5)
    assert result["perplexity"] != pytest.approx(math.exp(sum(losses) / 2), rel=1e-3)  # the weighting matters here


def test_perplexity_restores_training_mode():
    model = tiny_model().train()
    teacher_forced_perplexity(model, [_batch(seed=0, lengths=(3,), label_lengths=(3,))])
    assert model.training


def test_perplexity_without_target_tokens_is_refused():
    batch = _batch(seed=0, lengths=(3,), label_lengths=(3,))
    batch["labels"][:] = -100
    with pytest.raises(ValueError, match="no target token"):
        teacher_forced_perplexity(tiny_model(), [batch])


def test_the_evaluate_module_loads_from_the_package_offline_and_equals_corpus_scores(tmp_path):
    """`evaluate.load` of the shipped module file, in a process with the Hub switched off."""
    import json

    from support.fresh_process import run_offline

    script = """
import json, sys
import evaluate
from hf_attention_zoo.evaluation.translation_metrics import EVALUATE_MODULE, load_translation_metric
metric = load_translation_metric(cache_dir=sys.argv[1])
assert isinstance(metric, evaluate.EvaluationModule), type(metric)
print(json.dumps(metric.compute(predictions=["a small dog runs .", "two men"], references=["a small dog runs .", "two women"])))
"""
    done = run_offline(script, tmp_path / "cache", home=tmp_path, package=True, HF_DATASETS_OFFLINE="1",
                       HF_EVALUATE_OFFLINE="1", timeout=120)
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    expected = corpus_scores(["a small dog runs .", "two men"], ["a small dog runs .", "two women"])
    assert scores.pop("exact_match") == 0.5
    assert scores == expected
