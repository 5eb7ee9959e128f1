"""Beam-search error analysis: when a translation is bad, was it the search or the model?

For a source x with reference y* and the output ŷ of a beam search, both scored by the same model with the same
length normalisation (`generation.scoring.score_sequences`):
- "exact match": ŷ is y*, token for token;
- "search error": score(y* | x) > score(ŷ | x): the beam missed a sentence the model prefers (a wider beam or a
  better search can fix it);
- "model error": otherwise: the model prefers its output to the reference (training, data or the model must fix it).

A search error proves the beam missed something; a model error does not prove the beam found the model's best
output, which is what `exact_search` (depth-first search with pruning, Stahlberg & Byrne 2019, arXiv:1908.10090)
tells on short inputs: the model's best output under the unnormalised score, and whether the search finished within
its budget.

The reference is encoded with the target tokenizer as the training labels are (`tokenizer(text_target=...)`, which
ends it with eos), so P(y* | x) is the probability of exactly the token sequence the model was trained to produce.
BLEU is sacreBLEU's (cased, 13a) on the detokenized outputs against the raw reference text; the length ratio is
sacreBLEU's too (output words / reference words over the corpus, 13a-tokenized).
"""

from dataclasses import asdict, dataclass, field

import torch
from sacrebleu.metrics import BLEU

from .translation_metrics import corpus_scores
from ..generation.length_normalization import length_normalization_kwargs
from ..generation.scoring import NORMALIZATIONS, score_sequences

VERDICTS = ("exact match", "search error", "model error")


def verdict(hypothesis: list[int], reference: list[int], hypothesis_score: float, reference_score: float) -> str:
    """The verdict for one sentence (see the module docstring); token lists end at their eos."""
    if hypothesis == reference:
        return "exact match"
    return "search error" if reference_score > hypothesis_score else "model error"


def _until_eos(ids: list[int], eos_token_id: int, pad_token_id: int) -> list[int]:
    """Output tokens after the decoder start, up to and including the first eos, without padding."""
    out = []
    for token in ids:
        if token == pad_token_id and token != eos_token_id:
            break
        out.append(token)
        if token == eos_token_id:
            break
    return out


@dataclass
class SentenceResult:
    index: int
    beam_size: int
    verdict: str
    hypothesis: str
    hypothesis_score: float
    reference_score: float
    hypothesis_tokens: int
    reference_tokens: int


@dataclass
class BeamSummary:
    beam_size: int
    counts: dict
    bleu: float
    bleu_signature: str
    length_ratio: float
    empty_outputs: int
    mean_hypothesis_score: float
    mean_reference_score: float


@dataclass
class ExactSearchResult:
    """The model's best output under the unnormalised score, found by `exact_search`."""

    tokens: list[int]
    score: float
    finished: bool  # False when the node budget ran out: `tokens` is then only the best found
    expansions: int


@dataclass
class SearchErrorReport:
    normalization: str
    alpha: float
    sentences: int
    summaries: list[BeamSummary]
    results: list[SentenceResult] = field(repr=False)
    exact: list[dict] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def exact_search(model, input_ids: torch.Tensor, max_new_tokens: int, lower_bound: float = float("-inf"),
                 node_budget: int = 2000) -> ExactSearchResult:
    """The output y maximising log p(y | x) (unnormalised), by depth-first search: a prefix whose score is already
    no better than the best complete output found is pruned, which is exact because log-probabilities only fall as
    a prefix grows. `lower_bound` (e.g. the beam's score) prunes from the start. One source, (1, src_len), no padding.
    Outputs longer than `max_new_tokens` are not considered; `node_budget` caps the prefixes expanded."""
    config = model.config
    encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=torch.ones_like(input_ids))
    best_tokens, best_score, expansions, finished = None, lower_bound, 0, True
    stack = [([config.decoder_start_token_id], 0.0)]
    while stack:
        prefix, score = stack.pop()
        if score <= best_score:
            continue
        if expansions >= node_budget:
            finished = False
            break
        expansions += 1
        logits = model(encoder_outputs=encoder_outputs, attention_mask=torch.ones_like(input_ids),
                       decoder_input_ids=torch.tensor([prefix], device=input_ids.device)).logits[0, -1]
        log_probs = logits.float().log_softmax(-1)
        eos_score = score + float(log_probs[config.eos_token_id])
        if eos_score > best_score:
            best_tokens, best_score = prefix[1:] + [config.eos_token_id], eos_score
        if len(prefix) >= max_new_tokens:  # one more token would exceed the limit unless it is eos
            continue
        candidates = (score + log_probs).masked_fill_(
            torch.arange(log_probs.shape[0], device=log_probs.device) == config.eos_token_id, float("-inf"))
        viable = torch.nonzero(candidates > best_score).flatten()
        # Push the worst first so that the best is expanded next (depth first, most probable child first).
        for token in viable[candidates[viable].argsort()].tolist():
            stack.append((prefix + [token], float(candidates[token])))
    return ExactSearchResult(best_tokens or [], best_score, finished, expansions)


def analyze_search_errors(
    model,
    source_tokenizer,
    target_tokenizer,
    sources: list[str],
    references: list[str],
    beam_sizes: list[int],
    normalization: str = "none",
    alpha: float = 1.0,
    batch_size: int = 16,
    max_new_tokens: int | None = None,
    exact_search_max_source_tokens: int = 0,
    exact_search_sentences: int = 0,
    exact_search_budget: int = 2000,
) -> SearchErrorReport:
    """Translate `sources` with beam search at every size of `beam_sizes`, score each output and each reference with
    the same model and `normalization` (inside the search too: `length_normalization_kwargs`), and judge every
    sentence (module docstring). `max_new_tokens` defaults to the model's generation config. With
    `exact_search_sentences > 0`, the first that many sources of at most `exact_search_max_source_tokens` tokens also
    get `exact_search` (unnormalised scores only)."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"Unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}.")
    if len(sources) != len(references) or not sources:
        raise ValueError(f"Got {len(sources)} sources and {len(references)} references; pass one reference per "
                         "source, at least one.")
    if exact_search_sentences and normalization != "none":
        raise ValueError("exact_search prunes with unnormalised scores, which only fall as outputs grow; run it with "
                         "normalization='none' (length-normalised scores can rise, so pruning would not be exact).")
    config, device = model.config, model.device
    # The output limit: the one given, else the model's generation config (which generate() then applies itself).
    generation = model.generation_config
    limit = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
    max_new_tokens = max_new_tokens or generation.max_new_tokens or generation.max_length - 1
    reference_ids = [_until_eos(ids, config.eos_token_id, -1)
                     for ids in target_tokenizer(text_target=references)["input_ids"]]

    results, summaries, per_beam_outputs = [], [], {}
    for beam_size in beam_sizes:
        outputs, scores = [], []
        for start in range(0, len(sources), batch_size):
            batch = source_tokenizer(sources[start:start + batch_size], return_tensors="pt", padding=True).to(device)
            generated = model.generate(
                **batch, num_beams=beam_size, do_sample=False, **limit,
                **length_normalization_kwargs(normalization, alpha, beam_size),
            )
            hypothesis_scores = score_sequences(model, batch["input_ids"], batch["attention_mask"], generated,
                                                normalization, alpha).normalized
            refs = reference_ids[start:start + batch_size]
            width = max(len(ids) for ids in refs)
            ref_sequences = torch.full((len(refs), 1 + width), config.pad_token_id, dtype=torch.long)
            ref_sequences[:, 0] = config.decoder_start_token_id
            for row, ids in enumerate(refs):
                ref_sequences[row, 1:1 + len(ids)] = torch.tensor(ids)
            reference_scores = score_sequences(model, batch["input_ids"], batch["attention_mask"],
                                               ref_sequences.to(device), normalization, alpha).normalized
            for row, sequence in enumerate(generated.tolist()):
                outputs.append(_until_eos(sequence[1:], config.eos_token_id, config.pad_token_id))
                scores.append((float(hypothesis_scores[row]), float(reference_scores[row])))
        texts = target_tokenizer.batch_decode(outputs, skip_special_tokens=True)
        bleu = corpus_scores(texts, references)
        lengths = BLEU().corpus_score(texts, [references])
        counts = dict.fromkeys(VERDICTS, 0)
        for index, (ids, text, (hyp_score, ref_score)) in enumerate(zip(outputs, texts, scores)):
            judged = verdict(ids, reference_ids[index], hyp_score, ref_score)
            counts[judged] += 1
            results.append(SentenceResult(index, beam_size, judged, text, hyp_score, ref_score, len(ids),
                                          len(reference_ids[index])))
        per_beam_outputs[beam_size] = (outputs, scores)
        summaries.append(BeamSummary(
            beam_size=beam_size, counts=counts, bleu=bleu["sacrebleu"], bleu_signature=bleu["signatures"]["sacrebleu"],
            length_ratio=lengths.sys_len / max(lengths.ref_len, 1),
            empty_outputs=sum(text.strip() == "" for text in texts),
            mean_hypothesis_score=sum(s[0] for s in scores) / len(scores),
            mean_reference_score=sum(s[1] for s in scores) / len(scores),
        ))

    exact = []
    if exact_search_sentences:
        for index, ids in enumerate(source_tokenizer(sources)["input_ids"]):
            if len(exact) >= exact_search_sentences:
                break
            if len(ids) > exact_search_max_source_tokens:
                continue
            # The best beam output is a lower bound on the model's best score.
            bound = max(per_beam_outputs[k][1][index][0] for k in beam_sizes) - 1e-4
            found = exact_search(model, torch.tensor([ids], device=device), max_new_tokens, bound, exact_search_budget)
            entry = {"index": index, "finished": found.finished, "expansions": found.expansions}
            best_beam = max(beam_sizes, key=lambda k: per_beam_outputs[k][1][index][0])
            if found.tokens:  # better than every beam output
                entry.update(best=target_tokenizer.decode(found.tokens, skip_special_tokens=True), score=found.score,
                             empty=found.tokens == [config.eos_token_id])
            else:  # nothing beats the best beam output: it is the model's best
                tokens = per_beam_outputs[best_beam][0][index]
                entry.update(best=target_tokenizer.decode(tokens, skip_special_tokens=True),
                             score=per_beam_outputs[best_beam][1][index][0], empty=tokens == [config.eos_token_id])
            for k in beam_sizes:
                entry[f"beam_{k}_missed_best"] = bool(found.tokens) and found.tokens != per_beam_outputs[k][0][index]
            exact.append(entry)
    return SearchErrorReport(normalization, alpha, len(sources), summaries, results, exact)


def markdown_table(report: SearchErrorReport) -> str:
    """The per-beam summary as a markdown table (and the exact-search line when it ran)."""
    lines = [
        f"Normalisation: {report.normalization}" + (f", α = {report.alpha}" if report.normalization != "none" else "")
        + f"; {report.sentences} sentences.",
        "",
        "| beam | exact match | search errors | model errors | BLEU | length ratio | empty outputs | mean score ŷ | mean score y* |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report.summaries:
        lines.append(f"| {s.beam_size} | {s.counts['exact match']} | {s.counts['search error']} | "
                     f"{s.counts['model error']} | {s.bleu:.2f} | {s.length_ratio:.3f} | {s.empty_outputs} | "
                     f"{s.mean_hypothesis_score:.3f} | {s.mean_reference_score:.3f} |")
    if report.exact:
        done = [e for e in report.exact if e["finished"]]
        lines += ["", f"Exact search on {len(report.exact)} short sources ({len(done)} finished within the budget): "
                      f"the model's best output is empty for {sum(e['empty'] for e in done)}; beam search missed it "
                      + ", ".join(f"{sum(e[f'beam_{s.beam_size}_missed_best'] for e in done)} times at beam "
                                  f"{s.beam_size}" for s in report.summaries) + "."]
    if report.summaries:
        lines += ["", f"BLEU: sacreBLEU {report.summaries[0].bleu_signature}."]
    return "\n".join(lines) + "\n"


def plot_report(report: SearchErrorReport, path) -> None:
    """Verdict counts per beam size (stacked bars) with BLEU on a second axis, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    beams = [str(s.beam_size) for s in report.summaries]
    figure, axis = plt.subplots(figsize=(6, 4), dpi=120)
    bottom = [0] * len(beams)
    for name, colour in zip(VERDICTS, ("tab:green", "tab:orange", "tab:red")):
        values = [s.counts[name] for s in report.summaries]
        axis.bar(beams, values, bottom=bottom, label=name, color=colour)
        bottom = [b + v for b, v in zip(bottom, values)]
    axis.set_xlabel("beam size")
    axis.set_ylabel("sentences")
    bleu_axis = axis.twinx()
    bleu_axis.plot(beams, [s.bleu for s in report.summaries], "k.-", label="BLEU")
    bleu_axis.set_ylabel("BLEU")
    axis.legend(loc="lower left", fontsize=8)
    normalization = "no length normalisation" if report.normalization == "none" else (
        f"{report.normalization} normalisation, α = {report.alpha}")
    axis.set_title(f"Search vs model errors ({normalization})")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


__all__ = ["VERDICTS", "ExactSearchResult", "SearchErrorReport", "analyze_search_errors", "exact_search",
           "markdown_table", "plot_report", "verdict"]
