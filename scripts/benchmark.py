"""Speed of the zoo models against their peers, side by side in one run: medians with min/max, and ratios.

    python scripts/benchmark.py                          # everything, 5-6 minutes on 2 quiet CPU cores
    python scripts/benchmark.py --quick                  # tiny sizes, 1 repeat, 1 thread: checks that it runs
    python scripts/benchmark.py --only transformer_training,rnn_decoding --repeats 3 --warmup 1
    python scripts/benchmark.py --output_dir runs/benchmark-laptop --threads 4
    python scripts/benchmark.py --only transformer_training,transformer_decoding --profile   # + profile_*.txt

Sections (`--only`, comma-separated): transformer_training, transformer_decoding, rnn_training, rnn_decoding,
sequence_length, gpu. Every comparison builds its contenders at identical sizes from one seed, feeds them the same
random token ids, warms each up, then times repeats interleaved (A B C A B C ...) so that a busy machine slows all
contenders alike; a ratio is median time / median time. Writes <output_dir>/benchmark.json (machine, raw times,
medians, ratios, targets met or missed), benchmark.md (the tables, printed at the end) and sequence_length.png.
"""

import argparse
import json
import math
import operator
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import transformers
from transformers import MarianConfig, MarianMTModel

from benchmark_baselines import GRUAttentionSeq2Seq, TorchTransformerSeq2Seq
from benchmark_report import (
    MEASUREMENT_NOTES,
    SEQUENCE_LENGTH_FAMILIES,
    load_average,
    machine_info,
    plot_sequence_length,
    write_report,
)
from hf_attention_zoo import (
    RNNSeq2SeqConfig,
    RNNSeq2SeqForConditionalGeneration,
    TransformerSeq2SeqConfig,
    TransformerSeq2SeqForConditionalGeneration,
)

SECTIONS = ("transformer_training", "transformer_decoding", "rnn_training", "rnn_decoding", "sequence_length", "gpu")
OPTIMIZER = "torch.optim.AdamW(lr=1e-4), torch's default implementation for the device"


@dataclass(frozen=True)
class Sizes:
    """Model and input sizes of a run. The defaults are the issue's reference set-up (Transformer-small, vocab 8k,
    batch 32 × 30 tokens for training, 30 new tokens for decoding)."""

    vocab_size: int = 8000
    d_model: int = 256
    layers: int = 3
    heads: int = 4
    ffn_dim: int = 1024
    rnn_embedding_size: int = 128
    rnn_hidden_size: int = 256
    train_batch: int = 32
    train_len: int = 30  # source and target tokens per training row
    source_len: int = 30  # source tokens per decoding row
    decode_batches: tuple[int, ...] = (1, 16)
    new_tokens: int = 30
    num_beams: int = 5
    scaling_lengths: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    scaling_batch: int = 8
    gpu_batch: int = 64
    gpu_len: int = 64


QUICK_SIZES = Sizes(
    vocab_size=128, d_model=32, layers=1, heads=2, ffn_dim=64, rnn_embedding_size=16, rnn_hidden_size=32,
    train_batch=2, train_len=6, source_len=6, decode_batches=(1, 2), new_tokens=3, num_beams=2,
    scaling_lengths=(16, 32), scaling_batch=2, gpu_batch=2, gpu_len=8,
)


# ---------------------------------------------------------------------------------------------------------------
# Timing


@dataclass
class Contender:
    """One side of a comparison: `run()` does the timed work once; `work` counts its units (target tokens for
    training, generated tokens for decoding) so that throughput = work / time."""

    name: str
    run: Callable[[], object]
    work: int
    params: int | None = None
    note: str = ""
    memory: Callable[[], int | None] | None = None  # peak extra bytes of one run, measured untimed
    result: dict = field(default_factory=dict)


def time_interleaved(contenders: list[Contender], repeats: int, warmup: int) -> None:
    """Warm every contender up, then time `repeats` rounds of A B C ..., storing per-repeat seconds."""
    for _ in range(warmup):
        for contender in contenders:
            contender.run()
    times = {c.name: [] for c in contenders}
    for _ in range(repeats):
        for contender in contenders:
            start = time.perf_counter()
            contender.run()
            times[contender.name].append(time.perf_counter() - start)
    for contender in contenders:
        seconds = times[contender.name]
        median = statistics.median(seconds)
        contender.result.update(
            times_s=[round(t, 6) for t in seconds], median_s=median, min_s=min(seconds), max_s=max(seconds),
            work=contender.work, throughput=contender.work / median, params=contender.params, note=contender.note,
        )
        if contender.memory is not None:
            contender.result["peak_memory_bytes"] = contender.memory()


def trainable_parameters(model: torch.nn.Module) -> int:
    """Trainable parameters, tied ones counted once (Marian's frozen sinusoidal tables are not trainable)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def peak_memory_of(run: Callable[[], object], device: torch.device) -> int | None:
    """Peak bytes of tensor memory allocated by one `run()` above what was live when it started.

    CUDA: `torch.cuda.max_memory_allocated`. CPU: torch's CPU allocations bypass tracemalloc, and RSS hides frees
    behind the C allocator's cache, so one extra (untimed) run is recorded by `torch.profiler` with
    `profile_memory=True` and its allocation/free events are summed in time order. This counts activations,
    gradients (freed between steps here) and temporaries; parameters and the optimizer state created in warm-up
    are already live and excluded.
    """
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        run()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - start
    try:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
            run()
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
        live = peak = 0
        for event in sorted(events, key=lambda e: e.start_ns()):
            live += event.nbytes()
            peak = max(peak, live)
        return peak
    except (AttributeError, RuntimeError):  # a torch without these private profiler accessors
        return None


def ratio(contenders: dict[str, Contender], name: str, peer: str) -> float:
    """median time of `name` / median time of `peer` (same work, so < 1 means `name` is faster)."""
    return contenders[name].result["median_s"] / contenders[peer].result["median_s"]


COMPARE = {"<=": operator.le, ">=": operator.ge, ">": operator.gt}


def target(description: str, value: float | None, op: str, threshold: float) -> dict:
    """A goal of the issue, and whether this run met it (None when there was nothing to measure)."""
    met = None if value is None else COMPARE[op](value, threshold)
    return {"target": description, "value": value, "op": op, "threshold": threshold, "met": met}


def case_record(name: str, contenders: list[Contender], unit: str, peer: str | None, **extra) -> dict:
    by_name = {c.name: c for c in contenders}
    record = {"case": name, "unit": unit, "peer": peer, "contenders": {c.name: c.result for c in contenders}}
    if peer is not None:
        record["time_ratio_vs_peer"] = {c.name: ratio(by_name, c.name, peer) for c in contenders}
    record.update(extra)
    return record


# ---------------------------------------------------------------------------------------------------------------
# Models at identical sizes


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


def rnn_config(sizes: Sizes, wiring: str) -> RNNSeq2SeqConfig:
    """The "small" RNN preset (bidirectional GRU, Bahdanau wiring, additive score) or its Luong variant (general
    score, no input feeding), sizes explicit, dropout 0."""
    luong = dict(attention_type="general", attention_wiring="luong", input_feeding=False) if wiring == "luong" else {}
    return RNNSeq2SeqConfig.from_preset(
        "small", vocab_size=sizes.vocab_size, embedding_size=sizes.rnn_embedding_size,
        hidden_size=sizes.rnn_hidden_size, dropout=0.0, **luong,
    )


def build(factory: Callable[[], torch.nn.Module], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return factory()


def random_ids(shape: tuple[int, ...], vocab_size: int, seed: int) -> torch.Tensor:
    """Token ids in [4, vocab - 2): none of the zoo's specials (0-3) nor Marian's (eos 0, unk 1, pad vocab-1)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(4, vocab_size - 2, shape, generator=generator)


def training_step(model: torch.nn.Module, loss_fn: Callable[[], torch.Tensor], bf16: bool,
                  device: torch.device) -> Callable[[], None]:
    """forward + backward + AdamW step (`OPTIMIZER`), under bf16 autocast when `bf16` (weights stay fp32)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


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


# ---------------------------------------------------------------------------------------------------------------
# Sections


def transformer_training(args, sizes: Sizes) -> dict:
    """Training throughput and peak memory: zoo vs MarianMTModel vs torch.nn.Transformer, fp32 and bf16 autocast."""
    device = torch.device("cpu")
    config = zoo_transformer_config(sizes)
    input_ids = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed)
    labels = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed + 1)
    tokens = int((labels != -100).sum())
    contenders = []
    for precision, bf16 in (("fp32", False), ("bf16 autocast", True)):
        zoo = build(lambda: TransformerSeq2SeqForConditionalGeneration(config), args.seed)
        marian = build(lambda: MarianMTModel(marian_config(config)), args.seed)
        entries = [(f"zoo {precision}", zoo, hf_loss(zoo, input_ids, labels), ""),
                   (f"Marian {precision}", marian, hf_loss(marian, input_ids, labels),
                    "q/k/v/out projections have biases (+4·d_model per attention block)")]
        if not bf16:
            torch_model = build(lambda: TorchTransformerSeq2Seq(
                config.vocab_size, config.d_model, config.encoder_attention_heads, config.encoder_layers,
                config.decoder_layers, config.encoder_ffn_dim, config.pad_token_id, config.decoder_start_token_id,
            ), args.seed)
            entries.append((f"torch.nn.Transformer {precision}", torch_model,
                            lambda m=torch_model: m(input_ids, labels),
                            "nn.MultiheadAttention has q/k/v/out biases (+4·d_model per attention block)"))
        for name, model, loss_fn, note in entries:
            step = training_step(model, loss_fn, bf16, device)
            contenders.append(Contender(name, step, tokens, trainable_parameters(model), note,
                                        memory=lambda s=step: peak_memory_of(s, device)))
    time_interleaved(contenders, args.repeats, args.warmup)
    case = case_record(f"batch {sizes.train_batch} × {sizes.train_len} tokens", contenders, "target tokens/s",
                       peer="Marian fp32")
    by_name = {c.name: c for c in contenders}
    targets = [
        target("zoo fp32 training ≥ 1.2× Marian fp32 throughput", 1 / ratio(by_name, "zoo fp32", "Marian fp32"),
               ">=", 1.2),
        target("zoo bf16 autocast faster than zoo fp32 (throughput ratio)",
               1 / ratio(by_name, "zoo bf16 autocast", "zoo fp32"), ">", 1.0),
    ]
    return {"description": "Training step = forward + backward + optimizer step (" + OPTIMIZER + "); "
                           "throughput counts target tokens (non-pad labels); peak memory: see measurement_notes.",
            "config": {"zoo": config.to_diff_dict()}, "cases": [case], "targets": targets}


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


def transformer_decoding(args, sizes: Sizes) -> dict:
    """generate() latency and throughput, greedy and beam, batch 1 and 16: zoo vs Marian vs CTranslate2."""
    config = zoo_transformer_config(sizes)
    zoo = build(lambda: TransformerSeq2SeqForConditionalGeneration(config), args.seed).eval()
    marian = build(lambda: MarianMTModel(marian_config(config)), args.seed).eval()
    sources = random_ids((max(sizes.decode_batches), sizes.source_len), sizes.vocab_size, args.seed + 2)
    cases, targets = [], []
    with tempfile.TemporaryDirectory() as folder:
        translators, skipped = ctranslate2_translators(marian, zoo, Path(folder))
        params = {"zoo generate()": trainable_parameters(zoo), "Marian generate()": trainable_parameters(marian)}
        for num_beams in (1, sizes.num_beams):
            for batch in sizes.decode_batches:
                input_ids = sources[:batch]
                calls = {"zoo generate()": generate_call(zoo, input_ids, num_beams, sizes.new_tokens),
                         "Marian generate()": generate_call(marian, input_ids, num_beams, sizes.new_tokens)}
                for name, (translator, vocabulary) in translators.items():
                    calls[name] = translate_call(translator, vocabulary, input_ids, num_beams, sizes.new_tokens)
                outputs = {name: call() for name, call in calls.items()}
                contenders = [Contender(name, call, batch * sizes.new_tokens, params.get(name))
                              for name, call in calls.items()]
                time_interleaved(contenders, args.repeats, args.warmup)
                search = search_name(num_beams)
                checks = {"output_lengths": {n: list(o.shape) for n, o in outputs.items()}}
                if "CTranslate2 (Marian)" in outputs:
                    checks["ctranslate2_marian_equals_marian_generate"] = bool(
                        torch.equal(outputs["CTranslate2 (Marian)"], outputs["Marian generate()"]))
                if "CTranslate2 (zoo export)" in outputs:
                    checks["ctranslate2_zoo_equals_zoo_generate"] = bool(
                        torch.equal(outputs["CTranslate2 (zoo export)"], outputs["zoo generate()"]))
                cases.append(case_record(f"{search}, batch {batch}", contenders, "generated tokens/s",
                                         peer="Marian generate()", checks=checks))
                by_name = {c.name: c for c in contenders}
                if num_beams > 1 and batch == 1:
                    targets.append(target(f"zoo beam-{num_beams} batch-1 latency ≤ 0.6× Marian's",
                                          ratio(by_name, "zoo generate()", "Marian generate()"), "<=", 0.6))
                if num_beams > 1 and "CTranslate2 (zoo export)" in by_name:
                    targets.append(target(
                        f"CTranslate2 zoo export, beam {num_beams} batch {batch}: latency ≈ CTranslate2 Marian "
                        "(ratio ≤ 1.1) and output identical to zoo generate()",
                        ratio(by_name, "CTranslate2 (zoo export)", "CTranslate2 (Marian)")
                        if checks["ctranslate2_zoo_equals_zoo_generate"] else math.inf, "<=", 1.1))
    return {"description": f"generate() with min_new_tokens = max_new_tokens = {sizes.new_tokens} (every contender "
                           f"produces the same number of tokens), length_penalty 1.0, source {sizes.source_len} "
                           "tokens; latency = wall time of one call, encoder included; CTranslate2 translate_batch "
                           "with min/max_decoding_length the same, intra_threads = torch threads.",
            "skipped": skipped, "cases": cases, "targets": targets}


def rnn_pair(sizes: Sizes, wiring: str, seed: int):
    config = rnn_config(sizes, wiring)
    zoo = build(lambda: RNNSeq2SeqForConditionalGeneration(config), seed)
    baseline = build(lambda: GRUAttentionSeq2Seq(
        config.vocab_size, config.embedding_size, config.hidden_size, wiring, config.decoder_start_token_id,
        config.eos_token_id), seed)
    return config, zoo, baseline


def rnn_training(args, sizes: Sizes) -> dict:
    """Training throughput: zoo RNN attention models vs the hand-written GRU model of the same size."""
    input_ids = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed)
    labels = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed + 1)
    contenders, targets, device = [], [], torch.device("cpu")
    for wiring in ("bahdanau", "luong"):
        _, zoo, baseline = rnn_pair(sizes, wiring, args.seed)
        for name, model, loss_fn in ((f"zoo {wiring}", zoo, hf_loss(zoo, input_ids, labels)),
                                     (f"hand-written {wiring}", baseline, lambda m=baseline: m(input_ids, labels))):
            step = training_step(model, loss_fn, False, device)
            contenders.append(Contender(name, step, labels.numel(), trainable_parameters(model),
                                        memory=lambda s=step: peak_memory_of(s, device)))
    time_interleaved(contenders, args.repeats, args.warmup)
    by_name = {c.name: c for c in contenders}
    cases = []
    for wiring in ("bahdanau", "luong"):
        pair = [by_name[f"zoo {wiring}"], by_name[f"hand-written {wiring}"]]
        cases.append(case_record(f"{wiring}, batch {sizes.train_batch} × {sizes.train_len} tokens", pair,
                                 "target tokens/s", peer=f"hand-written {wiring}"))
        targets.append(target(f"zoo {wiring} training time ≤ 1.1× hand-written",
                              ratio(by_name, f"zoo {wiring}", f"hand-written {wiring}"), "<=", 1.1))
    return {"description": "Training step = forward + backward + " + OPTIMIZER + ". Zoo 'small' RNN preset "
                           "(bidirectional GRU encoder, GRU decoder) with Bahdanau wiring and additive score, and "
                           "with Luong wiring, 'general' score, no input feeding; dropout 0.",
            "config": {w: rnn_config(sizes, w).to_diff_dict() for w in ("bahdanau", "luong")},
            "cases": cases, "targets": targets}


def rnn_decoding(args, sizes: Sizes) -> dict:
    """generate() greedy and beam search vs the hand-written loops, same weights shapes, fixed output length."""
    sources = random_ids((max(sizes.decode_batches), sizes.source_len), sizes.vocab_size, args.seed + 2)
    cases, targets = [], []
    for wiring in ("bahdanau", "luong"):
        _, zoo, baseline = rnn_pair(sizes, wiring, args.seed)
        zoo.eval(), baseline.eval()
        params = {"zoo generate()": trainable_parameters(zoo), "hand-written loop": trainable_parameters(baseline)}
        settings = [(1, b) for b in sizes.decode_batches] + [(sizes.num_beams, 1)]
        for num_beams, batch in settings:
            input_ids = sources[:batch]
            own = (lambda x=input_ids: baseline.greedy(x, sizes.new_tokens)) if num_beams == 1 else (
                lambda x=input_ids, k=num_beams: baseline.beam_search(x, k, sizes.new_tokens))
            calls = {"zoo generate()": generate_call(zoo, input_ids, num_beams, sizes.new_tokens),
                     "hand-written loop": own}
            contenders = [Contender(n, c, batch * sizes.new_tokens, params[n]) for n, c in calls.items()]
            time_interleaved(contenders, args.repeats, args.warmup)
            search = search_name(num_beams)
            cases.append(case_record(f"{wiring}: {search}, batch {batch}", contenders, "generated tokens/s",
                                     peer="hand-written loop"))
            if num_beams > 1:
                by_name = {c.name: c for c in contenders}
                targets.append(target(f"zoo {wiring} beam-{num_beams} generate() ≤ 1.3× hand-written beam loop",
                                      ratio(by_name, "zoo generate()", "hand-written loop"), "<=", 1.3))
    return {"description": f"Fixed output length {sizes.new_tokens} tokens (generate: min_new_tokens = "
                           "max_new_tokens; hand-written: </s> banned, fixed number of steps), length_penalty 1.0.",
            "cases": cases, "targets": targets}


def sequence_length(args, sizes: Sizes) -> dict:
    """How a training step and greedy decoding grow with the sequence length T, RNN vs Transformer."""
    rnn = build(lambda: RNNSeq2SeqForConditionalGeneration(rnn_config(sizes, "bahdanau")), args.seed)
    transformer = build(lambda: TransformerSeq2SeqForConditionalGeneration(zoo_transformer_config(sizes)), args.seed)
    rows, device = [], torch.device("cpu")
    for length in sizes.scaling_lengths:
        input_ids = random_ids((sizes.scaling_batch, length), sizes.vocab_size, args.seed + length)
        labels = random_ids((sizes.scaling_batch, length), sizes.vocab_size, args.seed + length + 1)
        contenders = []
        for family, model in zip(SEQUENCE_LENGTH_FAMILIES, (rnn, transformer)):
            step = training_step(model, hf_loss(model, input_ids, labels), False, device)
            contenders.append(Contender(f"{family} training", step, labels.numel()))
            decode = generate_call(model, input_ids[:1], 1, length)
            contenders.append(Contender(f"{family} greedy decoding",
                                        lambda d=decode, m=model: (m.eval(), d(), m.train()), length))
        time_interleaved(contenders, args.scaling_repeats, min(args.warmup, 1))
        rows.append({"length": length, **{c.name: c.result for c in contenders}})
    png = Path(args.output_dir) / "sequence_length.png"
    plot_sequence_length(rows, png)
    return {"description": f"T source and T target tokens; training: batch {sizes.scaling_batch}, one step "
                           f"(forward + backward + AdamW); decoding: batch 1, greedy, T new tokens, time per token. "
                           "Zoo 'small' RNN (Bahdanau wiring) vs zoo 'small' Transformer.",
            "lengths": list(sizes.scaling_lengths), "rows": rows, "plot": png.name}


def transformer_training_flops(config: TransformerSeq2SeqConfig, batch: int, src_len: int, tgt_len: int) -> int:
    """Model FLOPs of one training step: 3 × forward, forward = 2 × multiply-adds (the PaLM convention).

    Multiply-adds: every weight matrix once per token it reads (encoder: 4d² + 2d·d_ff per source token and layer;
    decoder: self-attention 4d², cross-attention 2d² per target token + 2d² (K, V) per source token, FFN 2d·d_ff;
    output projection d·V per target token), plus attention QK^T and AV, 2·L_q·L_k·d per layer, counted in full
    (also the masked half of causal self-attention). Embedding lookups, norms and softmax are not counted.
    """
    d, vocab = config.d_model, config.vocab_size
    encoder = src_len * config.encoder_layers * (4 * d * d + 2 * d * config.encoder_ffn_dim + 2 * src_len * d)
    decoder = config.decoder_layers * (
        tgt_len * (6 * d * d + 2 * d * config.decoder_ffn_dim + 2 * tgt_len * d + 2 * src_len * d) + src_len * 2 * d * d
    )
    return 6 * batch * (encoder + decoder + tgt_len * d * vocab)


def gpu(args, sizes: Sizes, device: torch.device | None = None) -> dict:
    """Transformer-base on a GPU: bf16 autocast training tokens/s and model FLOPs utilisation, decoding tokens/s."""
    if device is None:
        if not torch.cuda.is_available():
            return {"skipped": True, "reason": "torch.cuda.is_available() is False: no GPU on this machine."}
        device = torch.device("cuda")
    if args.quick:  # the tiny sizes, so that the section can be exercised anywhere
        config = zoo_transformer_config(sizes)
    else:
        config = TransformerSeq2SeqConfig.from_preset("base")  # Table 3 base: dropout 0.1, vocab 37000
    model = build(lambda: TransformerSeq2SeqForConditionalGeneration(config), args.seed).to(device)
    input_ids = random_ids((sizes.gpu_batch, sizes.gpu_len), config.vocab_size, args.seed).to(device)
    labels = random_ids((sizes.gpu_batch, sizes.gpu_len), config.vocab_size, args.seed + 1).to(device)
    step = training_step(model, hf_loss(model, input_ids, labels), True, device)
    train = Contender("zoo Transformer-base bf16 autocast training", step, labels.numel(), trainable_parameters(model),
                      memory=lambda: peak_memory_of(step, device))
    time_interleaved([train], args.repeats, max(args.warmup, 1))
    flops = transformer_training_flops(config, sizes.gpu_batch, sizes.gpu_len, sizes.gpu_len)
    achieved = flops / train.result["median_s"]
    cases = [case_record(f"training, batch {sizes.gpu_batch} × {sizes.gpu_len}", [train], "target tokens/s", None,
                         model_flops_per_step=flops, achieved_tflops=achieved / 1e12,
                         peak_tflops=args.gpu_peak_tflops, mfu=achieved / (args.gpu_peak_tflops * 1e12))]
    model.eval()
    for num_beams in (1, sizes.num_beams):
        decode = generate_call(model, input_ids, num_beams, sizes.new_tokens)

        def decode_bf16(call=decode):
            with torch.autocast(device.type, dtype=torch.bfloat16):
                out = call()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return out

        contender = Contender(f"zoo generate() {search_name(num_beams)} bf16 autocast", decode_bf16,
                              sizes.gpu_batch * sizes.new_tokens, trainable_parameters(model))
        time_interleaved([contender], args.repeats, 1)
        cases.append(case_record(f"decoding {search_name(num_beams)}, batch {sizes.gpu_batch}", [contender],
                                 "generated tokens/s", None))
    return {"skipped": False, "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
            "config": config.to_diff_dict(), "cases": cases,
            "description": "bf16 autocast (fp32 weights). MFU = model FLOPs per step / step time / peak "
                           f"({args.gpu_peak_tflops} TFLOP/s, --gpu_peak_tflops; H100/H200 SXM bf16 dense ≈ 989). "
                           "Model FLOPs = 3 × forward, forward = 2 × multiply-adds: every weight matrix once per "
                           "token it reads, the output projection, and attention QK^T and AV (2·L_q·L_k·d per "
                           "layer, causal self-attention counted in full); see transformer_training_flops."}


def parse_sections(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=parse_sections, default=list(SECTIONS),
                        help=f"comma-separated sections to run (default: all): {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true",
                        help="tiny models and inputs, 1 repeat, no warm-up: checks that every section runs")
    parser.add_argument("--output_dir", default="runs/benchmark")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per contender (default 7; quick 1)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed runs per contender first (default 2; quick 0)")
    parser.add_argument("--scaling_repeats", type=int, default=None,
                        help="repeats per length in the sequence_length section (default 3; quick 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's choice; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gpu_peak_tflops", type=float, default=989.0,
                        help="the GPU's dense bf16 peak for MFU (H100/H200 SXM: 989)")
    parser.add_argument("--profile", action="store_true",
                        help="also write torch.profiler tables of a training step and a beam-5 batch-1 generate() "
                             "(zoo and Marian) to <output_dir>/profile_*.txt")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.repeats = args.repeats if args.repeats is not None else (1 if args.quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.quick else 2)
    args.scaling_repeats = args.scaling_repeats if args.scaling_repeats is not None else (1 if args.quick else 3)
    return args


def write_profiles(args, sizes: Sizes) -> list[str]:
    """torch.profiler tables (top ops by self CPU time) of one training step and one beam generate() per model."""
    config = zoo_transformer_config(sizes)
    input_ids = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed)
    labels = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed + 1)
    written = []
    for name, factory in (("zoo", lambda: TransformerSeq2SeqForConditionalGeneration(config)),
                          ("marian", lambda: MarianMTModel(marian_config(config)))):
        model = build(factory, args.seed)
        step = training_step(model, hf_loss(model, input_ids, labels), False, torch.device("cpu"))
        decode = generate_call(model, input_ids[:1, : sizes.source_len], sizes.num_beams, sizes.new_tokens)
        for kind, run in (("training", step), ("beam_generate", lambda m=model, d=decode: (m.eval(), d(), m.train()))):
            for _ in range(2):
                run()
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                run()
            path = Path(args.output_dir) / f"profile_{kind}_{name}.txt"
            path.write_text(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
            written.append(path.name)
    return written


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    threads_before, verbosity_before = torch.get_num_threads(), transformers.logging.get_verbosity()
    # Quick mode is a smoke test, run on busy machines: one thread avoids two-thread contention dominating it.
    torch.set_num_threads(args.threads or (1 if args.quick else threads_before))
    transformers.logging.set_verbosity_error()  # generate()'s notes on max_length vs max_new_tokens, etc.
    try:
        with torch.random.fork_rng():  # the seeds set while building models stay inside
            return run_benchmark(args)
    finally:  # main() is also called in-process by the tests
        torch.set_num_threads(threads_before)
        transformers.logging.set_verbosity(verbosity_before)


def run_benchmark(args: argparse.Namespace) -> dict:
    sizes = QUICK_SIZES if args.quick else Sizes()
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine_info(" ".join(["python scripts/benchmark.py", *args.argv])), "sizes": asdict(sizes),
              "settings": dict(vars(args)), "measurement_notes": MEASUREMENT_NOTES,
              "sections": {}}
    functions = {"transformer_training": transformer_training, "transformer_decoding": transformer_decoding,
                 "rnn_training": rnn_training, "rnn_decoding": rnn_decoding, "sequence_length": sequence_length,
                 "gpu": gpu}
    for name in SECTIONS:
        if name not in args.only:
            continue
        start = time.perf_counter()
        print(f"[benchmark] {name} ...", flush=True)
        report["sections"][name] = functions[name](args, sizes)
        report["sections"][name]["section_seconds"] = round(time.perf_counter() - start, 2)
    if args.profile:
        report["profiles"] = write_profiles(args, sizes)
    report["machine"]["load_average_at_end"] = load_average()
    print(write_report(report, output_dir))
    return report


if __name__ == "__main__":
    main()
