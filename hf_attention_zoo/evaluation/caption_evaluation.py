"""Evaluate a captioner on a split of the synthetic shapes task: BLEU-4 and exact match of the captions generate()
returns, how many ran to the length limit, and, for a model with attention, the pointing accuracy of the attention
those captions were written with (`captioning_metrics.pointing_accuracy`). Xu et al. 2015 (arXiv:1502.03044)."""

import time
from dataclasses import dataclass, field

import torch

from .attention_maps import generate_with_attention
from ..data.synthetic_shapes import HELD_OUT_COMBINATIONS, HELD_OUT_RELATIONS
from .captioning_metrics import caption_scores, held_out_objects_named, held_out_relations_named, pointing_accuracy


@dataclass
class CaptionEvaluation:
    """What `evaluate_captioner` measured on one split with one decoding set-up.

    scores: {"bleu4", "exact_match", "ran_to_limit", "held_out_named", "held_out_relations_named", "pointing_mass",
        "chance", "pointing_ratio", "words_scored"} (held_out_named only where the split has objects of held-out
        pairs, held_out_relations_named only where it has held-out relations; the pointing keys only
        for a model with attention); ran_to_limit is the number of captions without an end-of-sequence token within
        `max_new_tokens`.
    hypotheses, references: the decoded captions, in the split's order.
    attention: per caption, (words + 1, grid_h, grid_w) the weights each output token was predicted with (None
        without attention).
    grid_size: (grid_h, grid_w) of the annotation grid.
    """

    scores: dict
    hypotheses: list[str]
    references: list[str]
    bleu_signature: str
    grid_size: tuple[int, int]
    seconds: float
    attention: list[torch.Tensor] | None = field(default=None, repr=False)


def _has_attention(model) -> bool:
    return getattr(model.config, "attention_type", "soft") != "none"


@torch.no_grad()
def evaluate_captioner(model, processor, split, num_beams: int = 5, batch_size: int = 64,
                       max_new_tokens: int = 24) -> CaptionEvaluation:
    """Caption every image of `split` (a `datasets.Dataset` with `image`, `caption` and `objects` columns) and
    score the results.

    Args:
        model: a `ShowAttendTellForConditionalGeneration` in eval mode.
        processor: its processor (`data.captioning.build_caption_processor`, or `AutoProcessor.from_pretrained`).
        split: the images with their reference captions and object boxes.
        num_beams: 1 is greedy search; beam search otherwise (length penalty 1, transformers' default).
        batch_size, max_new_tokens: images per generate() call, and the length limit of a caption.
    """
    started = time.time()
    model.eval()
    tokenizer, eos = processor.tokenizer, model.config.eos_token_id
    hypotheses, attention, token_captions, ran_to_limit = [], [], [], 0
    grid_size = None
    for start in range(0, len(split), batch_size):
        rows = split[start:start + batch_size]
        pixel_values = processor(images=rows["image"], return_tensors="pt")["pixel_values"].to(model.device)
        if grid_size is None:
            grid_size = tuple(model.get_encoder().feature_map(pixel_values[:1]).shape[-2:])
        # max_length (start token + caption) rather than max_new_tokens: a trained model's generation config sets
        # max_length, and generate() warns when it is given both
        options = dict(num_beams=num_beams, max_length=max_new_tokens + 1, do_sample=False)
        if _has_attention(model):
            output, traced = generate_with_attention(model, pixel_values=pixel_values, **options)
            sequences = output.sequences
            attention += [hypothesis.weights.mean(dim=(0, 1)).reshape(-1, *grid_size).cpu() for hypothesis in traced]
            # one word per token (the task's word-level tokenizer), so step t of the weights emitted word t
            token_captions += [" ".join(tokenizer.convert_ids_to_tokens(hypothesis.target_ids[hypothesis.target_ids != eos]))
                               for hypothesis in traced]
        else:
            sequences = model.generate(pixel_values=pixel_values, **options)
        ran_to_limit += int((~(sequences[:, 1:] == eos).any(dim=1)).sum())
        hypotheses += tokenizer.batch_decode(sequences, skip_special_tokens=True)
    references, objects = list(split["caption"]), list(split["objects"])
    scores = caption_scores(hypotheses, references)
    result = {"bleu4": scores["bleu4"], "exact_match": scores["exact_match"], "ran_to_limit": ran_to_limit}
    compositional = held_out_objects_named(hypotheses, objects, HELD_OUT_COMBINATIONS)
    if compositional["held_out_objects"]:
        result["held_out_named"] = compositional["held_out_named"]
    relations = held_out_relations_named(hypotheses, objects, HELD_OUT_RELATIONS)
    if relations["held_out_relations"]:
        result["held_out_relations_named"] = relations["held_out_relations_named"]
    if _has_attention(model):
        # The boxes are in the pixels of the dataset's images (all of one size in the synthetic task).
        width, height = split[0]["image"].size
        pointing = pointing_accuracy(token_captions, attention, objects, (height, width))
        result.update(pointing_mass=pointing["pointing_mass"], chance=pointing["chance"],
                      pointing_ratio=pointing["ratio"], words_scored=pointing["words_scored"])
    return CaptionEvaluation(result, hypotheses, references, scores["bleu_signature"], grid_size,
                             time.time() - started, attention if _has_attention(model) else None)


__all__ = ["CaptionEvaluation", "evaluate_captioner"]
