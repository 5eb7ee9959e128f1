"""The zoo's translation metrics as a Hugging Face `evaluate` module, loaded from this file with no network:

    import evaluate
    from hf_attention_zoo.evaluation.translation_metrics import EVALUATE_MODULE
    metric = evaluate.load(EVALUATE_MODULE)     # or load_translation_metric()
    metric.compute(predictions=["a small dog ."], references=["a small dog ."])

`evaluate.load("sacrebleu")` fetches its script from the Hub; this one ships with the package. It computes what
`translation_metrics.corpus_scores` computes (cased sacreBLEU, chrF and lowercased BLEU with their signatures), plus
the exact-match rate, over one reference per sentence.
"""

import datasets
import evaluate

from hf_attention_zoo.evaluation.translation_metrics import corpus_scores

_CITATION = """\
@inproceedings{post-2018-call,
  title = "A Call for Clarity in Reporting {BLEU} Scores",
  author = "Post, Matt",
  booktitle = "Proceedings of the Third Conference on Machine Translation: Research Papers",
  year = "2018",
  url = "https://aclanthology.org/W18-6319",
}
"""


class ZooTranslationMetrics(evaluate.Metric):
    """Corpus sacreBLEU, chrF, lowercased BLEU (with signatures) and exact match of detokenized translations."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=__doc__,
            citation=_CITATION,
            inputs_description="predictions: detokenized system outputs; references: one reference per prediction.",
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
            reference_urls=["https://github.com/mjpost/sacrebleu"],
        )

    def _compute(self, predictions: list[str], references: list[str]) -> dict:
        scores = corpus_scores(list(predictions), list(references))
        matches = sum(prediction == reference for prediction, reference in zip(predictions, references))
        return {**scores, "exact_match": matches / len(predictions)}
