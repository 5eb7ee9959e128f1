"""What every zoo PreTrainedModel adds to transformers': a saved folder names all three Auto classes and the zoo's
translation pipeline, a loaded model is bit-identical to the one saved, labels shift into decoder inputs, and
resizing the vocabulary resizes the decoder's own embedding table too."""

import shutil
from pathlib import Path

import torch
from torch import nn

# The zoo's translation pipeline (pipeline_translation.py), which every saved folder carries and names in its config:
# `pipeline(model=folder, trust_remote_code=True)` then finds it. The file is copied by `save_pretrained` rather than
# imported here, so that loading a model never pays for importing transformers' pipelines (about 2 s).
TRANSLATION_TASK = "zoo-translation"
CUSTOM_PIPELINES = {TRANSLATION_TASK: {"impl": "pipeline_translation.ZooTranslationPipeline",
                                       "pt": ["AutoModelForSeq2SeqLM"], "type": "text"}}
SHIPPED_WITH_EVERY_MODEL = ("pipeline_translation.py",)
# Where a model with separate vocabularies keeps its target-side tokenizer (a subfolder of the model folder or repo).
TARGET_TOKENIZER_SUBFOLDER = "target_tokenizer"


def target_vocab_size(config) -> int:
    """The width of the decoder's vocabulary: `decoder_vocab_size` of the text-to-text families (Marian's convention),
    `vocab_size` where a family has one vocabulary only (the captioner)."""
    return getattr(config, "decoder_vocab_size", config.vocab_size)


class ZooPreTrainedMixin:
    """Mixed into each family's `PreTrainedModel` subclass, before `PreTrainedModel` in the bases.

    The family sets `hub_auto_map`, e.g. `{"AutoConfig": "configuration_x.XConfig", "AutoModel": "modeling_x.XModel",
    "AutoModelForSeq2SeqLM": "modeling_x.XForConditionalGeneration"}`.
    """

    hub_auto_map: dict[str, str] = {}
    # Text-to-text families ship the zoo's translation pipeline with every saved folder; the captioner does not.
    ships_translation_pipeline: bool = True

    def save_pretrained(self, save_directory, **kwargs):
        # transformers writes only the saved class's own `auto_map` entry; naming all three Auto classes lets the
        # folder (or a Hub repo made from it) load through any of them with trust_remote_code=True.
        self.config.auto_map = {**(getattr(self.config, "auto_map", None) or {}), **self.hub_auto_map}
        # Copied before transformers writes (and, with push_to_hub=True, uploads) the folder.
        here = Path(__file__).parent
        shipped = [here / name for name in SHIPPED_WITH_EVERY_MODEL if (here / name).is_file()]
        shipped = shipped if self.ships_translation_pipeline else []
        if shipped and not Path(save_directory).is_file():
            self.config.custom_pipelines = CUSTOM_PIPELINES
            Path(save_directory).mkdir(parents=True, exist_ok=True)
            for path in shipped:
                shutil.copy(path, Path(save_directory) / path.name)
        return super().save_pretrained(save_directory, **kwargs)

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        loaded = super().from_pretrained(*args, **kwargs)
        # with output_loading_info=True transformers returns (model, info)
        (loaded[0] if isinstance(loaded, tuple) else loaded).own_parameter_memory()
        return loaded

    @torch.no_grad()
    def own_parameter_memory(self) -> None:
        """Copy every parameter and buffer into memory of its own.

        transformers 5 loads safetensors weights as views into the memory-mapped file, at offsets that are not
        64-byte aligned; CPU matmul kernels then treat the unaligned tails differently and outputs differ from
        the saved model's in the last bit. A copy is aligned, and it no longer depends on the file on disk.
        Tied weights are one Parameter, so they stay tied.
        """
        for param in self.parameters():
            param.data = param.data.clone()
        for module in self.modules():
            for name, buffer in module.named_buffers(recurse=False):
                if buffer is not None:
                    setattr(module, name, buffer.clone())

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Teacher forcing (used by the models and by `DataCollatorForSeq2Seq`): labels (batch, tgt_len) shifted
        right behind `decoder_start_token_id`, with the loss-ignore value -100 replaced by `pad_token_id`."""
        shifted = labels.new_full(labels.shape, self.config.pad_token_id)
        shifted[:, 1:] = labels[:, :-1]
        shifted[:, 0] = self.config.decoder_start_token_id
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id)

    def resize_token_embeddings(self, new_num_tokens=None, pad_to_multiple_of=None, mean_resizing=True):
        """Resize the vocabulary. One joint vocabulary: every table (encoder, decoder, output projection), re-tied
        where configured. Separate vocabularies (`decoder_vocab_size != vocab_size`, Marian's convention): the source
        side only; `resize_decoder_token_embeddings` resizes the target side."""
        if target_vocab_size(self.config) != self.config.vocab_size:
            resized = self._get_resized_embeddings(
                self.get_input_embeddings(), new_num_tokens, pad_to_multiple_of, mean_resizing
            )
            self.set_input_embeddings(resized)
            self.config.vocab_size = resized.num_embeddings
            return resized
        # transformers resizes the input (encoder) table and the output projection; a decoder table of its own is
        # resized to the same size here.
        embeddings = super().resize_token_embeddings(new_num_tokens, pad_to_multiple_of, mean_resizing)
        decoder = self.base_model.decoder
        if decoder.embed_tokens.num_embeddings != embeddings.num_embeddings:
            decoder.embed_tokens = self._get_resized_embeddings(
                decoder.embed_tokens, embeddings.num_embeddings, mean_resizing=mean_resizing
            )
            self.tie_weights()
        if hasattr(self.config, "decoder_vocab_size"):
            self.config.decoder_vocab_size = embeddings.num_embeddings
        return embeddings

    def resize_decoder_token_embeddings(self, new_num_tokens: int, mean_resizing: bool = True) -> nn.Embedding:
        """Resize the target side of separate vocabularies (Marian's name): the decoder's table and the output
        projection, re-tied where configured."""
        if target_vocab_size(self.config) == self.config.vocab_size:
            raise ValueError(
                f"This model has one joint vocabulary of {self.config.vocab_size} tokens: resize it with "
                "resize_token_embeddings, which resizes both sides."
            )
        decoder = self.base_model.decoder
        decoder.embed_tokens = self._get_resized_embeddings(decoder.embed_tokens, new_num_tokens,
                                                            mean_resizing=mean_resizing)
        output = self.get_output_embeddings()
        if output is not None:
            self.set_output_embeddings(self._get_resized_lm_head(output, new_num_tokens, mean_resizing=mean_resizing))
        self.config.decoder_vocab_size = new_num_tokens
        self.tie_weights()
        return decoder.embed_tokens


class ZooSeq2SeqLMMixin:
    """The accessors transformers calls on an encoder-decoder with a language-modelling head (generate,
    resize_token_embeddings, weight tying), for head classes that wrap the base model as `self.model` and the
    output projection as `self.lm_head`. Mixed in before the family's PreTrainedModel."""

    # Trainer reads this flag and then passes `num_items_in_batch` (the label tokens of the whole global batch,
    # over every process and accumulation step) to `forward`, and multiplies the returned loss by the number of
    # processes. With `token_cross_entropy` below, the gradient and the logged loss are then the mean over every
    # token of the global batch, whatever the number of processes (a per-process mean would weight the tokens of
    # a process with short targets more).
    accepts_loss_kwargs = True

    @staticmethod
    def token_cross_entropy(
        logits: torch.Tensor,
        labels: torch.Tensor,
        num_items_in_batch: int | torch.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> torch.Tensor:
        """Cross-entropy of `logits` `(batch, tgt_len, vocab)` against `labels` `(batch, tgt_len)` (-100 ignored):
        the mean over this batch's label tokens, or, when `num_items_in_batch` is given, their sum divided by it.
        `label_smoothing` is ε_ls of Vaswani et al. §5.4 (the models' own loss uses 0; Trainer smooths with its
        `label_smoothing_factor`, a loop of one's own passes it here)."""
        flat_logits, flat_labels = logits.float().flatten(0, 1), labels.to(logits.device).flatten()
        if num_items_in_batch is None:
            return nn.functional.cross_entropy(flat_logits, flat_labels, ignore_index=-100,
                                               label_smoothing=label_smoothing)
        total = nn.functional.cross_entropy(flat_logits, flat_labels, ignore_index=-100, reduction="sum",
                                            label_smoothing=label_smoothing)
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(total.device)
        return total / num_items_in_batch

    def compute_transition_scores(self, *args, **kwargs):
        # transformers reads the width of the scores from `config.vocab_size`, the source side under Marian's
        # convention; the scores are the decoder's, `decoder_vocab_size` wide.
        source_vocab_size = self.config.vocab_size
        self.config.vocab_size = target_vocab_size(self.config)
        try:
            return super().compute_transition_scores(*args, **kwargs)
        finally:
            self.config.vocab_size = source_vocab_size

    def _reorder_cache(self, cache, beam_idx: torch.Tensor):
        """The one beam-reorder seam of every family: keep the cache rows of the hypotheses beam search selected.
        transformers' beam search calls `model._reorder_cache(cache, beam_idx)` (5.23 and 5.24), and so can search
        code of one's own, whatever the family. By default the cache reorders itself (`cache.reorder_cache`); a
        family overrides this where it knows better (the Transformer reorders its self-attention cache only)."""
        cache.reorder_cache(beam_idx)
        return cache

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value) -> None:
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value) -> None:
        self.lm_head = value

    def get_encoder(self):
        return self.model.encoder

    def get_decoder(self):
        return self.model.decoder
