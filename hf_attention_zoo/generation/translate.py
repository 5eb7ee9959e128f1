"""Translate texts with a zoo model: load a folder or Hub model with its tokenizers (`load_translator`) and translate
a list of sentences in length-sorted batches (`translate`), through the zoo's translation pipeline
(`models/pipeline_translation.py`, which every saved model also carries for `pipeline(..., trust_remote_code=True)`)."""

from pathlib import Path

from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.pipelines import PIPELINE_REGISTRY

from ..models.pipeline_translation import TASK, ZooTranslationPipeline, load_target_tokenizer

# pipeline("zoo-translation", model=model, tokenizer=tokenizer) for models in memory, once this module is imported; a
# saved folder names the pipeline in its config, so pipeline(model=folder, trust_remote_code=True) needs no import.
PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=ZooTranslationPipeline, pt_model=AutoModelForSeq2SeqLM,
                                    type="text")


def load_translator(
    model_name_or_path: str, device: str = "cpu", trust_remote_code: bool = False
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, PreTrainedTokenizerBase]:
    """`(model, source_tokenizer, target_tokenizer)` of a folder or Hub id, the model in eval mode on `device`.

    With a joint vocabulary both tokenizers are the same object; with separate vocabularies the target tokenizer is
    the one in the `target_tokenizer/` subfolder. A path that does not exist, or a folder without config.json, is
    refused with the fix rather than sent to the Hub as an id.
    """
    path = Path(model_name_or_path)
    # A Hub id is "name" or "owner/name"; anything else that does not exist is a mistyped folder.
    looks_like_a_path = model_name_or_path.startswith((".", "/", "~")) or model_name_or_path.count("/") > 1
    if path.is_dir() and not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"--model {model_name_or_path}: the folder has no config.json; pass a folder written by "
            "model.save_pretrained or Trainer.save_model."
        )
    if not path.exists() and looks_like_a_path:
        raise FileNotFoundError(f"--model {model_name_or_path}: no such folder (a Hub id has the form owner/name).")
    model = AutoModelForSeq2SeqLM.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code)
    # AutoTokenizer reads the config too, whose auto_map names the saved code: without the flag it would ask on stdin.
    source_tokenizer = AutoTokenizer.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code)
    target_tokenizer = load_target_tokenizer(model_name_or_path, source_tokenizer, trust_remote_code=trust_remote_code)
    return model.to(device).eval(), source_tokenizer, target_tokenizer


def translate(
    model: PreTrainedModel,
    source_tokenizer: PreTrainedTokenizerBase,
    target_tokenizer: PreTrainedTokenizerBase,
    sources: list[str],
    batch_size: int = 32,
    **generate_kwargs,
) -> list[str]:
    """Translate `sources` in batches of `batch_size`, decoding with `target_tokenizer`; the translations come back in
    the order given. Sentences are batched by length, which keeps padding small (a padded batch gives each row what
    it gives alone). Blank sources give "" without reaching the model. `generate_kwargs` left out (or None) take the
    model's `generation_config` values."""
    generate_kwargs = {name: value for name, value in generate_kwargs.items() if value is not None}
    translator = ZooTranslationPipeline(model=model, tokenizer=source_tokenizer, target_tokenizer=target_tokenizer,
                                        device=model.device)
    lengths = [len(ids) for ids in source_tokenizer(sources)["input_ids"]] if sources else []
    order = sorted(range(len(sources)), key=lambda index: lengths[index])
    translations = [""] * len(sources)
    results = translator([sources[index] for index in order], batch_size=batch_size, **generate_kwargs)
    for index, result in zip(order, results):
        translations[index] = result["translation_text"]
    return translations


__all__ = ["ZooTranslationPipeline", "load_translator", "translate"]
