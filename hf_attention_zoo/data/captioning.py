"""Images and captions into model inputs: the processor of a captioning model (an image processor and the caption
tokenizer in one object, saved with the model) and the batch collator for `Seq2SeqTrainer`.

Both are transformers' own classes: `ViTImageProcessorPil` (resize, rescale, normalise; PIL only, no torchvision) and
`TrOCRProcessor`, transformers' pairing of an image processor with a tokenizer for vision encoder-decoders, which
`AutoProcessor.from_pretrained(folder)` loads back.
"""

from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase, TrOCRProcessor, ViTImageProcessorPil


def build_caption_processor(tokenizer: PreTrainedTokenizerBase, image_size: int) -> TrOCRProcessor:
    """The processor of a captioner reading `image_size` × `image_size` RGB images: resized (bilinear), scaled to
    [0, 1] and normalised to [-1, 1] per channel (mean = std = 0.5, as for a CNN trained from scratch)."""
    if image_size <= 0:
        raise ValueError(f"image_size must be a positive number of pixels, got {image_size}.")
    image_processor = ViTImageProcessorPil(size={"height": image_size, "width": image_size},
                                           image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_convert_rgb=True)
    return TrOCRProcessor(image_processor=image_processor, tokenizer=tokenizer)


@dataclass
class CaptioningCollator:
    """Examples `{"image": PIL image, "caption": str, ...}` -> `{"pixel_values": (batch, 3, S, S), "labels":
    (batch, tgt_len)}`, captions padded on the right with -100 (no loss); the model shifts the labels into its
    decoder inputs. Images are processed per batch, so a dataset needs no preprocessing pass (use
    `Seq2SeqTrainingArguments(remove_unused_columns=False)` so that the Trainer keeps the raw columns)."""

    processor: TrOCRProcessor
    image_column: str = "image"
    caption_column: str = "caption"

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        missing = {self.image_column, self.caption_column} - set(examples[0])
        if missing:
            raise ValueError(
                f"The examples lack the columns {sorted(missing)} (they have {sorted(examples[0])}). Pass "
                "remove_unused_columns=False to the Trainer, or name the columns with image_column / caption_column."
            )
        batch = self.processor(images=[example[self.image_column] for example in examples],
                               text=[example[self.caption_column] for example in examples],
                               padding=True, return_tensors="pt")
        labels = batch["labels"].masked_fill(batch["labels"] == self.processor.tokenizer.pad_token_id, -100)
        return {"pixel_values": batch["pixel_values"], "labels": labels}


__all__ = ["CaptioningCollator", "build_caption_processor"]
