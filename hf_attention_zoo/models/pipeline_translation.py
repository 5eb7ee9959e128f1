"""`pipeline()` for the zoo's translation models. transformers 5 removed the "translation" and
"text2text-generation" tasks (their names are reserved), so every saved zoo model names this pipeline in its
config (`custom_pipelines`, task "zoo-translation") and carries this file: where the package is not installed,

    from transformers import pipeline
    translator = pipeline(model="owner/name-or-folder", trust_remote_code=True)
    translator(["Two dogs play in the snow.", "A man rides a bike."], num_beams=5, batch_size=16)
    # [{'translation_text': '...'}, {'translation_text': '...'}]

translates, batched, with any `generate()` argument. With separate vocabularies the output is decoded with the
target tokenizer saved in `target_tokenizer/` next to the model. A blank input gives "" without reaching the model.
"""

from transformers import AutoTokenizer, Pipeline
from transformers.utils import has_file

from .zoo_pretrained import CUSTOM_PIPELINES, TARGET_TOKENIZER_SUBFOLDER, TRANSLATION_TASK

TASK = TRANSLATION_TASK


def load_target_tokenizer(name_or_path: str, source_tokenizer, **kwargs):
    """The target tokenizer of a saved model: its `target_tokenizer/` subfolder when it has one, else the (joint)
    source tokenizer."""
    if name_or_path and has_file(name_or_path, f"{TARGET_TOKENIZER_SUBFOLDER}/tokenizer_config.json"):
        return AutoTokenizer.from_pretrained(name_or_path, subfolder=TARGET_TOKENIZER_SUBFOLDER, **kwargs)
    return source_tokenizer


class ZooTranslationPipeline(Pipeline):
    """Source texts -> `{"translation_text": ...}` with the model's `generate()`; keyword arguments of a call (or of
    `pipeline(...)`) other than `batch_size` go to `generate()` (`num_beams`, `max_new_tokens`, `length_penalty`,
    `do_sample`, ...)."""

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __init__(self, *args, target_tokenizer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target_tokenizer = target_tokenizer or load_target_tokenizer(
            getattr(self.model, "name_or_path", None), self.tokenizer)

    def _sanitize_parameters(self, **generate_kwargs):
        return {}, generate_kwargs, {}

    def preprocess(self, text: str):
        return self.tokenizer(text, return_tensors="pt")

    def _forward(self, model_inputs, **generate_kwargs):
        return {"output_ids": self.model.generate(**model_inputs, **generate_kwargs)}

    def postprocess(self, model_outputs):
        return {"translation_text": self.target_tokenizer.decode(model_outputs["output_ids"][0],
                                                                 skip_special_tokens=True)}

    def __call__(self, inputs, **kwargs):
        """`inputs`: a text or a list of texts; returns a dict, or a list of dicts in the order given."""
        single = isinstance(inputs, str)
        texts = [inputs] if single else list(inputs)
        results = [{"translation_text": ""} for _ in texts]
        nonblank = [index for index, text in enumerate(texts) if text.strip()]
        if nonblank:
            translated = super().__call__([texts[index] for index in nonblank], **kwargs)
            for index, result in zip(nonblank, translated):
                results[index] = result[0] if isinstance(result, list) else result
        return results[0] if single else results


__all__ = ["CUSTOM_PIPELINES", "TARGET_TOKENIZER_SUBFOLDER", "TASK", "ZooTranslationPipeline", "load_target_tokenizer"]
