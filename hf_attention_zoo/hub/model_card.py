"""Model cards (the README.md of a pushed model) rendered with huggingface_hub's `ModelCard` from the Jinja
templates of the repository's `model_cards/` folder: YAML metadata with a model-index, architecture, usage,
training, results, limitations and the papers' BibTeX (Vaswani et al. 2017, arXiv:1706.03762; Bahdanau et al.
2015, arXiv:1409.0473; Luong et al. 2015, arXiv:1508.04025; Sutskever et al. 2014, arXiv:1409.3215; Cho et al.
2014, arXiv:1406.1078).
"""

import json
import os
import re
import site
import sys
import sysconfig
from pathlib import Path

import jinja2
import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import AutoConfig, PreTrainedConfig

from ..data.parallel_text import MULTI30K_CITATION  # re-exported for callers that render cards themselves
from ..data.synthetic_dates import SOURCE_LANG as DATES_SOURCE_LANG
from ..data.synthetic_dates import TARGET_LANG as DATES_TARGET_LANG
from ..registry import family_of

# The templates: the repository's top-level model_cards/ in a checkout (and an editable install); an installed wheel
# carries them as data files under <prefix>/share/hf_attention_zoo/model_cards (setup.cfg's data_files).
TEMPLATE_DIRS = [Path(__file__).resolve().parents[2] / "model_cards",
                 *(Path(prefix) / "share" / "hf_attention_zoo" / "model_cards"
                   for prefix in dict.fromkeys([sys.prefix, sysconfig.get_path("data"), site.USER_BASE or ""]) if prefix)]


def default_template_dir() -> Path:
    """The first folder of `TEMPLATE_DIRS` that holds the shared template."""
    for folder in TEMPLATE_DIRS:
        if (folder / "base.md").is_file():
            return folder
    raise FileNotFoundError(
        "No model-card templates found; looked in " + ", ".join(map(str, TEMPLATE_DIRS)) + ". Reinstall the package "
        "(its wheel carries them), or pass template_dir= pointing at a copy of the repository's model_cards/."
    )
INPUTS_FILE = "model_card_inputs.json"

# Metric key (as in `results`; the keys of `translation_metrics`) -> (name shown in the card and the model-index,
# how it is computed).
METRICS: dict[str, tuple[str, str]] = {
    "sacrebleu": ("sacreBLEU", "corpus BLEU of the detokenized outputs against the untokenized references, computed "
                  "by sacreBLEU (Post 2018) with its defaults; comparable with other scores of the same signature"),
    "bleu": ("BLEU", "sacreBLEU's corpus BLEU, as `Seq2SeqTrainer` reports it during training"),
    "chrf": ("chrF", "character n-gram F-score (Popović 2015), computed by sacreBLEU"),
    "bleu_lowercase_tokenized": ("BLEU (lowercased)", "sacreBLEU's BLEU of lowercased text (13a tokenization), an "
                                 "approximation of the multi-bleu.perl BLEU of older papers, not the same number"),
    "perplexity": ("perplexity", "exp of the mean per-token negative log-likelihood of the references "
                   "(teacher forcing)"),
    "exact_match": ("exact match", "fraction of outputs identical to their reference"),
    "bleu4": ("BLEU-4", "sacreBLEU's corpus BLEU (4-grams) of the captions against one reference each"),
    "pointing_mass": ("pointing mass", "for each word naming an object of the image, the share of the attention it "
                      "was predicted with that falls inside that object's box (mean over words)"),
    "pointing_ratio": ("pointing / chance", "pointing mass divided by the mean box share of the image, the mass "
                       "a uniform attention would put there"),
    "held_out_named": ("held-out objects named", "the share of objects of colour-shape pairs never seen in training "
                       "that the caption names with the right size, colour and shape"),
    "ran_to_limit": ("ran to limit", "captions that reached the length limit without an end-of-sequence token"),
}
# A source sentence for the usage snippet, by source language (Multi30k's languages and the dates task).
EXAMPLES = {
    "en": "Two dogs are playing in the snow.",
    "de": "Zwei Hunde spielen im Schnee.",
    "fr": "Deux chiens jouent dans la neige.",
    "cs": "Dva psi si hrají na sněhu.",
    DATES_SOURCE_LANG: "Tuesday 9 May 1989",
}



def render_model_card(
    config: PreTrainedConfig,
    *,
    repo_id: str,
    source_lang: str | None = None,
    target_lang: str | None = None,
    dataset_name: str,
    dataset_id: str | None = None,
    dataset_citation: str | None = None,
    num_parameters: int | None = None,
    training: dict[str, object] | None = None,
    command: str | None = None,
    results: dict[str, dict[str, float]] | None = None,
    signatures: dict[str, str] | None = None,
    template_dir: str | os.PathLike | None = None,
    license: str = "apache-2.0",
    evaluation: str | None = None,
    num_beams: int = 4,
    example_source: str | None = None,
) -> ModelCard:
    """Render the model card of a model of either family (no network access, nothing is validated on the Hub).

    Args:
        config: the model's config; its family (`registry.family_of`) chooses the template, tags and task.
        repo_id: "user/name" on the Hub or a local folder; used in the usage snippet and the model-index name.
        source_lang, target_lang: the translation direction (the `translation` keys of the data); None for the
            captioner, whose source is an image and whose captions are English.
        dataset_name: a human-readable name of the training data.
        dataset_id: the Hub dataset id for the `datasets:` metadata; None for local or synthetic data.
        dataset_citation: BibTeX of the data, added to the Citation section.
        num_parameters: the model's parameter count; None counts it on the meta device (no memory used).
        training: ordered rows of the training table, e.g. `{"epochs": 10, "hardware": "2-core CPU"}`.
        command: the exact command that trained the model.
        results: split -> metric -> value as measured, e.g. `{"test": {"sacrebleu": 35.2}}`; the known metric keys
            are those of `METRICS`. Written unrounded into the model-index, rounded only in the Results table.
        signatures: metric -> sacreBLEU signature string.
        template_dir: the folder of the templates; defaults to `default_template_dir()`.
        license: the model's license for the metadata.
        evaluation: how the results were obtained (decoding, references, tooling), shown under the table.
        num_beams: the beam size of the usage snippet.
        example_source: the source text of the usage snippet; defaults to a sentence of `EXAMPLES`.

    Returns:
        The `ModelCard`; `str(card)` is the README.md text, `card.data` its metadata.

    Raises:
        TypeError: `config` is not a config of this package.
        FileNotFoundError: the template is missing.
    """
    family = family_of(config)
    template_path = Path(default_template_dir() if template_dir is None else template_dir) / family.card_template
    if not template_path.is_file():
        raise FileNotFoundError(
            f"Model card template {template_path} not found. The templates live in the top-level model_cards/ "
            "folder of the hf_attention_zoo repository (an installed wheel carries them under "
            "<prefix>/share/hf_attention_zoo/model_cards): pass template_dir= pointing at a copy of that folder."
        )
    results = {split: {metric: float(value) for metric, value in scores.items()} for split, scores in
               (results or {}).items() if scores}
    metrics = list(dict.fromkeys(metric for scores in results.values() for metric in scores))
    is_dates_task = (source_lang, target_lang) == (DATES_SOURCE_LANG, DATES_TARGET_LANG)
    is_captioning = family.pipeline_tag == "image-to-text"
    if not is_captioning and (source_lang is None or target_lang is None):
        raise ValueError(f"A {family.name} model translates: pass source_lang and target_lang.")
    model_name = Path(repo_id).name
    task = ("image-to-text", f"Image captioning ({dataset_name})") if is_captioning else (
        "translation", f"Translation {source_lang}-{target_lang}")
    card_data = ModelCardData(
        # The dates task's "languages" are formats, the captioner's source an image; their text is English.
        language=["en"] if is_dates_task or is_captioning else [source_lang, target_lang],
        license=license,
        library_name="transformers",
        pipeline_tag=family.pipeline_tag,
        tags=[family.pipeline_tag, *([] if is_captioning else ["seq2seq"]), "hf_attention_zoo",
              *family.card_tags(config), "custom_code"],
        datasets=[dataset_id] if dataset_id else None,
        metrics=metrics or None,
        model_name=model_name,
        eval_results=[
            EvalResult(
                task_type=task[0], task_name=task[1],
                dataset_type=dataset_id or _slug(dataset_name), dataset_name=dataset_name, dataset_split=split,
                metric_type=metric, metric_name=_metric_name(metric), metric_value=value,
            )
            for split, scores in results.items() for metric, value in scores.items()
        ] or None,
    )
    return _render(
        card_data,
        template_path,
        config=config,
        repo_id=repo_id,
        model_name=model_name,
        source_lang=source_lang,
        target_lang=target_lang,
        dataset_name=dataset_name,
        dataset_id=dataset_id,
        dataset_citation=dataset_citation,
        is_dates_task=is_dates_task,
        is_multi30k="multi30k" in f"{dataset_id} {dataset_name}".lower(),
        num_parameters=_count_parameters(config) if num_parameters is None else num_parameters,
        training=training or {},
        command=command,
        metric_names=[_metric_name(metric) for metric in metrics],
        metric_descriptions={METRICS[m][0]: METRICS[m][1] for m in metrics if m in METRICS},
        results_rows=[(split, [_display(scores.get(m)) for m in metrics]) for split, scores in results.items()],
        signatures={_metric_name(metric): text for metric, text in (signatures or {}).items()},
        evaluation=evaluation,
        num_beams=num_beams,
        example_source=example_source or EXAMPLES.get(source_lang or "en", EXAMPLES["en"]),
    )


def _render(card_data: ModelCardData, template_path: Path, **template_kwargs) -> ModelCard:
    """`ModelCard.from_template`, with the family template's `{% extends "base.md" %}` resolved in its folder: every
    family's card is model_cards/base.md (the shared sections, written once) with the family's blocks."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_path.parent)))
    content = environment.get_template(template_path.name).render(
        card_data=card_data.to_yaml(), **{**card_data.to_dict(), **template_kwargs})
    return ModelCard(content)


def save_model_card(folder: str | os.PathLike, **render_kwargs) -> Path:
    """Render the card into `folder/README.md` and keep the inputs (all but `config`) in
    `folder/model_card_inputs.json`, so that `update_model_card` can re-render it.

    Args:
        folder: the model folder (where `save_pretrained` wrote the model).
        render_kwargs: the arguments of `render_model_card`, `config` included.

    Returns:
        The path of the README.md written.
    """
    card = render_model_card(**render_kwargs)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = {key: os.fspath(value) if key == "template_dir" and value is not None else value
              for key, value in render_kwargs.items() if key != "config"}
    # default=str: training-table values such as paths are shown as text anyway.
    (folder / INPUTS_FILE).write_text(json.dumps(inputs, indent=2, ensure_ascii=False, default=str) + "\n")
    readme = folder / "README.md"
    card.save(readme)
    return readme


def update_model_card(
    folder: str | os.PathLike,
    *,
    results: dict[str, dict[str, float]] | None = None,
    signatures: dict[str, str] | None = None,
    **more,
) -> Path:
    """Re-render `folder/README.md` with new results merged into those saved by `save_model_card`.

    Args:
        folder: a folder with a `config.json` and the `model_card_inputs.json` of `save_model_card`.
        results: split -> metric -> value; each metric replaces the same split's old value, others are kept.
        signatures: metric -> sacreBLEU signature, merged the same way.
        more: other `render_model_card` arguments to replace (e.g. `training=`, `command=`).

    Returns:
        The path of the README.md written.
    """
    folder = Path(folder)
    inputs_path = folder / INPUTS_FILE
    if not inputs_path.is_file():
        raise FileNotFoundError(
            f"{inputs_path} not found: write the first card with save_model_card({str(folder)!r}, config=..., ...)."
        )
    inputs = json.loads(inputs_path.read_text())
    merged_results = {split: dict(scores) for split, scores in (inputs.get("results") or {}).items()}
    for split, scores in (results or {}).items():
        merged_results.setdefault(split, {}).update(scores)
    inputs.update(more, results=merged_results, signatures={**(inputs.get("signatures") or {}), **(signatures or {})})
    # The package registered its configs on import, so the local classes load without remote code.
    config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    return save_model_card(folder, config=config, **inputs)


def _count_parameters(config: PreTrainedConfig) -> int:
    """The model's parameter count (shared weights once), built on the meta device so nothing is allocated."""
    with torch.device("meta"):
        return family_of(config).head_class(config).num_parameters()


def _metric_name(metric: str) -> str:
    """The name shown for a metric key: "chrf" -> "chrF"; unknown keys as they are."""
    return METRICS[metric][0] if metric in METRICS else metric


def _slug(name: str) -> str:
    """A model-index dataset type for data without a Hub id: "synthetic dates (seed 0)" -> "synthetic-dates-seed-0"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _display(value: float | None) -> str:
    """A table cell: 2 decimals (3 below 1, e.g. an exact-match rate), a dash where a split lacks the metric."""
    if value is None:
        return "–"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


__all__ = ["MULTI30K_CITATION", "render_model_card", "save_model_card", "update_model_card"]
