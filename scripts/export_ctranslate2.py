"""Export a saved zoo Transformer (model + tokenizer folder, e.g. from scripts/train.py) to CTranslate2, to translate
at its CPU speed. Needs `pip install 'hf_attention_zoo[ctranslate2]'`.

    python scripts/train.py --family transformer --preset small --output_dir runs/dates-transformer
    python scripts/export_ctranslate2.py --model runs/dates-transformer --output_dir runs/dates-ct2
    python scripts/export_ctranslate2.py --model runs/dates-transformer --output_dir runs/dates-ct2-int8 \\
        --quantization int8 --force

Then translate from Python (the exported folder holds the tokenizer(s) too; the settings that reproduce
`generate(num_beams=4, length_penalty=0.6, early_stopping=True)` are in hf_attention_zoo/ctranslate2_export.py):

    import ctranslate2
    from hf_attention_zoo.data.subword_tokenizer import load_tokenizers
    source_tokenizer, target_tokenizer = load_tokenizers("runs/dates-ct2")
    translator = ctranslate2.Translator("runs/dates-ct2", device="cpu")
    tokens = [source_tokenizer.convert_ids_to_tokens(ids) for ids in source_tokenizer(["Tuesday 9 May 1989"]).input_ids]
    for result in translator.translate_batch(tokens, beam_size=4, length_penalty=0.6, min_decoding_length=0,
                                             return_end_token=True):
        print(target_tokenizer.decode(target_tokenizer.convert_tokens_to_ids(result.hypotheses[0]),
                                      skip_special_tokens=True))

Only the Transformer family exports: CTranslate2 has no specification for recurrent encoder-decoders.
"""

import sys
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_attention_zoo.export.ctranslate2_export import export_to_ctranslate2


@dataclass
class ExportArguments:
    model: str = field(metadata={"help": "A zoo Transformer folder saved with its tokenizer(s)."})
    output_dir: str = field(metadata={"help": "The CTranslate2 model folder to write."})
    quantization: str | None = field(
        default=None, metadata={"help": "Weight type: int8, int8_float32, int16, float16, ... (default float32)."}
    )
    force: bool = field(default=False, metadata={"help": "Overwrite --output_dir if it exists."})
    max_positions: int | None = field(
        default=None,
        metadata={"help": "Sinusoidal positions: longest source/output accepted (default max_position_embeddings)."},
    )


def main(argv: list[str]) -> str:
    (arguments,) = HfArgumentParser(ExportArguments).parse_args_into_dataclasses(argv)
    output_dir = export_to_ctranslate2(arguments.model, arguments.output_dir, quantization=arguments.quantization,
                                       force=arguments.force, max_positions=arguments.max_positions)
    print(f"CTranslate2 model written to {output_dir}")
    return str(output_dir)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ValueError, OSError, ImportError, NotImplementedError, RuntimeError) as error:
        sys.exit(f"export_ctranslate2.py: error: {error}")
