"""The benchmark's contenders: the zoo models and their peers at identical sizes (MarianMTModel, torch.nn.Transformer,
a hand-written GRU attention model), their training losses and generate() calls, and CTranslate2 translators."""

import json
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import MarianConfig, MarianMTModel

from baselines import GRUAttentionSeq2Seq
from hf_attention_zoo import RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration, TransformerSeq2SeqConfig
from harness import Sizes, build


def zoo_transformer_config(sizes: Sizes, **overrides) -> TransformerSeq2SeqConfig:
    """The "small" preset with every size set explicitly (so that the peers' sizes provably match) and dropout 0."""
    return TransformerSeq2SeqConfig.from_preset(
        "small", vocab_size=sizes.vocab_size, d_model=sizes.d_model, encoder_layers=sizes.layers,
        decoder_layers=sizes.layers, encoder_attention_heads=sizes.heads, decoder_attention_heads=sizes.heads,
        encoder_ffn_dim=sizes.ffn_dim, decoder_ffn_dim=sizes.ffn_dim, max_position_embeddings=256, dropout=0.0,
        **overrides,
    )


def marian_config(config: TransformerSeq2SeqConfig) -> MarianConfig:
    """MarianMT at the zoo config's sizes: post-LN, ReLU, sinusoidal positions, √d embedding scale, shared and
    tied embeddings. Token ids follow Marian (pad = decoder start = the last id, eos 0) so that CTranslate2's
    Marian converter accepts it; the benchmark's random ids avoid every special id of both models."""
    return MarianConfig(
        vocab_size=config.vocab_size, d_model=config.d_model, encoder_layers=config.encoder_layers,
        decoder_layers=config.decoder_layers, encoder_attention_heads=config.encoder_attention_heads,
        decoder_attention_heads=config.decoder_attention_heads, encoder_ffn_dim=config.encoder_ffn_dim,
        decoder_ffn_dim=config.decoder_ffn_dim, max_position_embeddings=config.max_position_embeddings,
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, activation_function="relu",
        scale_embedding=True, share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
        pad_token_id=config.vocab_size - 1, decoder_start_token_id=config.vocab_size - 1, eos_token_id=0,
        forced_eos_token_id=None,
    )


def rnn_config(sizes: Sizes, wiring: str, **overrides) -> RNNSeq2SeqConfig:
    """The "small" RNN preset (bidirectional GRU, Bahdanau wiring, additive score) or its Luong variant (general
    score, no input feeding), sizes explicit, dropout 0."""
    luong = dict(attention_type="general", attention_wiring="luong", input_feeding=False) if wiring == "luong" else {}
    return RNNSeq2SeqConfig.from_preset(
        "small", vocab_size=sizes.vocab_size, embedding_size=sizes.rnn_embedding_size,
        hidden_size=sizes.rnn_hidden_size, dropout=0.0, **luong, **overrides,
    )


def hf_loss(model, input_ids, labels) -> Callable[[], torch.Tensor]:
    mask = torch.ones_like(input_ids)
    return lambda: model(input_ids=input_ids, attention_mask=mask, labels=labels).loss


def search_name(num_beams: int) -> str:
    return "greedy" if num_beams == 1 else f"beam {num_beams}"


def generate_call(model, input_ids, num_beams: int, new_tokens: int) -> Callable[[], torch.Tensor]:
    """generate() with a fixed output length (min_new_tokens = max_new_tokens) and neutral settings."""
    mask = torch.ones_like(input_ids)

    def run():
        out = model.generate(
            input_ids=input_ids, attention_mask=mask, do_sample=False, num_beams=num_beams, length_penalty=1.0,
            min_new_tokens=new_tokens, max_new_tokens=new_tokens, num_return_sequences=1,
        )
        return out[:, -new_tokens:]

    return run


def ctranslate2_translators(marian: MarianMTModel, zoo, folder: Path) -> tuple[dict, list[str]]:
    """CTranslate2 translators of the Marian model (ctranslate2's TransformersConverter) and, where
    `hf_attention_zoo.export.ctranslate2_export` exists, of the zoo model. Returns {name: (translator, vocabulary)}
    and the reasons for anything skipped (an optional contender that fails to convert is reported, not fatal)."""
    try:
        import ctranslate2
    except ImportError:
        return {}, ["CTranslate2: not installed (pip install -e '.[ctranslate2]')"]
    converters = {"CTranslate2 (Marian)": lambda: convert_marian(marian, folder),
                  "CTranslate2 (zoo export)": lambda: export_zoo(zoo, folder)}
    translators, skipped = {}, []
    for name, convert in converters.items():
        try:
            model_dir, vocabulary = convert()
        except ImportError as error:
            skipped.append(f"{name}: {error}")
        except Exception as error:  # noqa: BLE001 - reported in the output, the other contenders still run
            skipped.append(f"{name}: conversion failed, {type(error).__name__}: {error}")
        else:
            translator = ctranslate2.Translator(str(model_dir), device="cpu", intra_threads=torch.get_num_threads())
            translators[name] = (translator, vocabulary)
    return translators, skipped


def convert_marian(marian: MarianMTModel, folder: Path) -> tuple[Path, list[str]]:
    """ctranslate2's own Marian converter, offline: it only needs the vocabulary's token strings, so a placeholder
    stands in for the SentencePiece tokenizer. Ids: eos 0, unk 1, pad last (the converter drops it)."""
    from ctranslate2.converters import TransformersConverter

    tokens = ["</s>", "<unk>"] + [f"t{i}" for i in range(2, marian.config.vocab_size - 1)] + ["<pad>"]

    class PlaceholderVocabulary:  # the only tokenizer attributes the Marian converter reads
        bos_token, eos_token, unk_token, pad_token, special_tokens_map = None, "</s>", "<unk>", "<pad>", {}

        def get_vocab(self):
            return {token: i for i, token in enumerate(tokens)}

    class OfflineConverter(TransformersConverter):
        def load_tokenizer(self, *args, **kwargs):
            return PlaceholderVocabulary()

    marian.save_pretrained(folder / "marian")
    OfflineConverter(str(folder / "marian")).convert(str(folder / "marian-ct2"), force=True)
    return folder / "marian-ct2", tokens[:-1]


def export_zoo(zoo, folder: Path) -> tuple[Path, list[str]]:
    """The package's exporter (`hf_attention_zoo.export.ctranslate2_export`), from a saved folder with a tokenizer."""
    try:
        from hf_attention_zoo.export.ctranslate2_export import export_to_ctranslate2
    except ImportError as error:
        raise ImportError(f"hf_attention_zoo.export.ctranslate2_export is not available ({error})") from error
    zoo.save_pretrained(folder / "zoo")
    placeholder_tokenizer().save_pretrained(folder / "zoo")  # the exporter takes the token strings from it
    export_to_ctranslate2(folder / "zoo", folder / "zoo-ct2", force=True)
    return folder / "zoo-ct2", ctranslate2_vocabulary(folder / "zoo-ct2")


def placeholder_tokenizer():
    """A word-level tokenizer holding only the zoo's special tokens (ids 0-3); the exporter names the other rows."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    from hf_attention_zoo.data.subword_tokenizer import SPECIAL_TOKENS

    vocabulary = {token: i for i, token in enumerate(SPECIAL_TOKENS.values())}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocabulary, SPECIAL_TOKENS["unk_token"])),
                                   **SPECIAL_TOKENS)


def ctranslate2_vocabulary(folder: Path) -> list[str]:
    """The source vocabulary a CTranslate2 model folder holds (token of each id)."""
    for name in ("shared_vocabulary", "source_vocabulary"):
        if (folder / f"{name}.json").exists():
            return json.loads((folder / f"{name}.json").read_text())
        if (folder / f"{name}.txt").exists():
            return (folder / f"{name}.txt").read_text().splitlines()
    raise FileNotFoundError(f"No vocabulary file in {folder}: {sorted(p.name for p in folder.iterdir())}")


def translate_call(translator, vocabulary: list[str], input_ids: torch.Tensor, num_beams: int,
                   new_tokens: int) -> Callable[[], torch.Tensor]:
    """translate_batch with the same fixed length and neutral length penalty as generate(); returns ids."""
    source = [[vocabulary[i] for i in row] for row in input_ids.tolist()]
    index = {token: i for i, token in enumerate(vocabulary)}

    def run():
        results = translator.translate_batch(
            source, beam_size=num_beams, length_penalty=1.0, min_decoding_length=new_tokens,
            max_decoding_length=new_tokens, num_hypotheses=1,
        )
        return torch.tensor([[index[token] for token in r.hypotheses[0]] for r in results])

    return run


def rnn_pair(sizes: Sizes, wiring: str, seed: int):
    config = rnn_config(sizes, wiring)
    zoo = build(lambda: RNNSeq2SeqForConditionalGeneration(config), seed)
    baseline = build(lambda: GRUAttentionSeq2Seq(
        config.vocab_size, config.embedding_size, config.hidden_size, wiring, config.decoder_start_token_id,
        config.eos_token_id), seed)
    return config, zoo, baseline
