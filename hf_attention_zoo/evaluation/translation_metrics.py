"""Translation quality: corpus sacreBLEU and chrF with their signatures (Post, arXiv:1804.08771; Popović 2015),
also as an `evaluate` module (`load_translation_metric`), `compute_metrics` for
`Seq2SeqTrainer(predict_with_generate=True)`, and teacher-forced perplexity.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import torch
from sacrebleu.metrics import BLEU, CHRF
from transformers import EvalPrediction, PreTrainedModel, PreTrainedTokenizerBase


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict:
    """Corpus-level BLEU and chrF of detokenized `hypotheses` against one reference each.

    - "sacrebleu": `sacrebleu.metrics.BLEU()` with its defaults (cased, `13a` tokenization, exponential
      smoothing): the number to publish, together with its signature.
    - "chrf": `sacrebleu.metrics.CHRF()` (character 6-grams, beta 2).
    - "bleu_lowercase_tokenized": `BLEU(lowercase=True)` over the same text. This is the closest sacreBLEU gets to
      the `multi-bleu.perl` BLEU of older papers, computed on lowercased, Moses-tokenized text, but it is only an
      approximation: the `13a` tokenizer is not the Moses tokenizer (it keeps "don't" whole where Moses writes
      "don 't", splits "-" between digits, never splits hyphenated words the way `tokenizer.perl -a` does, and
      escapes nothing as HTML), the papers tokenized (and sometimes compound-split) their references with their
      own pipelines, and `multi-bleu.perl` scores 0 where any n-gram precision is 0 while sacreBLEU smooths. Use it
      for a rough comparison with such papers, not for agreement to the decimal.

    Args:
        hypotheses: one detokenized system output per sentence.
        references: the reference translation of each sentence, in the same order.

    Returns:
        `{"sacrebleu": float, "chrf": float, "bleu_lowercase_tokenized": float, "signatures": {name: str}}`, the
        scores on sacreBLEU's 0-100 scale and the signature of each (e.g.
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0").

    Raises:
        ValueError: when the lists are empty or differ in length.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"Got {len(hypotheses)} hypotheses but {len(references)} references; pass one hypothesis per reference, "
            "in the same order."
        )
    if not hypotheses:
        raise ValueError("Got no hypotheses and no references: a corpus score needs at least one sentence.")
    metrics = {"sacrebleu": BLEU(), "chrf": CHRF(), "bleu_lowercase_tokenized": BLEU(lowercase=True)}
    # sacreBLEU takes a list of reference streams (one per reference set); here there is one.
    scores = {name: metric.corpus_score(hypotheses, [references]).score for name, metric in metrics.items()}
    # A signature can only be read after scoring: it records the number of references seen.
    scores["signatures"] = {name: str(metric.get_signature()) for name, metric in metrics.items()}
    return scores


# The `evaluate` module script of these metrics, shipped with the package: `evaluate.load(EVALUATE_MODULE)`.
EVALUATE_MODULE = str(Path(__file__).with_name("evaluate_translation.py"))


def load_translation_metric(**load_kwargs):
    """`evaluate.load` of the zoo's translation metrics from the package's own module file (no network): an
    `evaluate.EvaluationModule` whose `compute(predictions=..., references=...)` returns `corpus_scores(...)` plus
    `exact_match`. `load_kwargs` go to `evaluate.load` (e.g. `experiment_id`, `num_process`, `process_id` for
    distributed evaluation)."""
    import evaluate  # imported here: scoring with corpus_scores alone does not need it

    return evaluate.load(EVALUATE_MODULE, **load_kwargs)


def decode_predictions(eval_prediction: EvalPrediction, tokenizer: PreTrainedTokenizerBase) -> tuple[list[str], list[str]]:
    """The texts of `Seq2SeqTrainer(predict_with_generate=True)`'s predictions and labels: (hypotheses, references).
    The Trainer pads labels, and generated sequences of different lengths across batches, with -100, which is no
    token id: it is decoded as padding."""
    predictions = np.where(eval_prediction.predictions == -100, tokenizer.pad_token_id, eval_prediction.predictions)
    labels = np.where(eval_prediction.label_ids == -100, tokenizer.pad_token_id, eval_prediction.label_ids)
    return (tokenizer.batch_decode(predictions, skip_special_tokens=True),
            tokenizer.batch_decode(labels, skip_special_tokens=True))


def generation_metrics(tokenizer: PreTrainedTokenizerBase) -> Callable[[EvalPrediction], dict[str, float]]:
    """Build `compute_metrics` for `Seq2SeqTrainer(predict_with_generate=True)`.

    Args:
        tokenizer: the TARGET tokenizer (with separate vocabularies, the one in `target_tokenizer/`): it decodes
            both the generated ids and the labels.

    Returns:
        A function of an `EvalPrediction` (predictions: generated ids (batch, out_len); label_ids: (batch,
        tgt_len)) giving `{"bleu": sacreBLEU, "chrf": chrF, "exact_match": fraction of hypotheses equal to their
        reference}`.
    """

    metric = load_translation_metric()

    def compute_metrics(eval_prediction: EvalPrediction) -> dict[str, float]:
        hypotheses, references = decode_predictions(eval_prediction, tokenizer)
        scores = metric.compute(predictions=hypotheses, references=references)
        return {"bleu": scores["sacrebleu"], "chrf": scores["chrf"], "exact_match": scores["exact_match"]}

    return compute_metrics


def teacher_forced_perplexity(
    model: PreTrainedModel, dataloader_or_batches: Iterable[Mapping[str, torch.Tensor]]
) -> dict:
    """Teacher-forced perplexity: exp(total negative log-likelihood / number of target tokens).

    Each batch is fed with the reference as decoder input (teacher forcing); this is the perplexity papers usually
    report, not the free-running one some tutorials compute with teacher forcing off. The loss is plain
    cross-entropy, NO label smoothing: a smoothed loss would inflate the perplexity (OpenNMT-py PR #462). Tokens
    are pooled over all batches, so a batch weighs by its number of target tokens.

    Args:
        model: a seq2seq model whose forward takes the batch's keys and returns `logits` (batch, tgt_len, vocab).
            It runs in eval mode under `torch.no_grad`; its training mode is restored afterwards.
        dataloader_or_batches: batches as `DataCollatorForSeq2Seq` gives them: dicts with `input_ids`,
            `attention_mask` (batch, src_len) and `labels` (batch, tgt_len) where -100 marks padding; moved to
            `model.device`.

    Returns:
        `{"perplexity": float, "nll_per_token": float (nats), "tokens": int}`.

    Raises:
        ValueError: when the batches hold no target token.
    """
    was_training = model.training
    model.eval()
    total_nll, tokens = 0.0, 0
    try:
        with torch.no_grad():
            for batch in dataloader_or_batches:
                batch = {name: value.to(model.device) for name, value in batch.items()}
                logits = model(**batch).logits
                labels = batch["labels"]
                # float(): a half-precision model's logits would lose precision in the sum.
                nll = torch.nn.functional.cross_entropy(
                    logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100, reduction="sum"
                )
                total_nll += nll.item()
                tokens += int((labels != -100).sum().item())
    finally:
        model.train(was_training)
    if tokens == 0:
        raise ValueError("The batches hold no target token (every label is -100, or there was no batch).")
    nll_per_token = total_nll / tokens
    return {"perplexity": math.exp(nll_per_token), "nll_per_token": nll_per_token, "tokens": tokens}
