"""The benchmark's sections, one function each: Transformer training and decoding, RNN training and decoding, cost
against sequence length, and the GPU section."""

import math
import tempfile
from pathlib import Path

import torch
from transformers import MarianMTModel

from baselines import TorchTransformerSeq2Seq
from report import SEQUENCE_LENGTH_FAMILIES, plot_sequence_length
from hf_attention_zoo import (
    RNNSeq2SeqForConditionalGeneration,
    TransformerSeq2SeqConfig,
    TransformerSeq2SeqForConditionalGeneration,
)
from contenders import (
    ctranslate2_translators,
    generate_call,
    hf_loss,
    marian_config,
    rnn_config,
    rnn_pair,
    search_name,
    translate_call,
    zoo_transformer_config,
)
from harness import (
    Contender,
    OPTIMIZER,
    Sizes,
    build,
    case_record,
    peak_memory_of,
    random_ids,
    ratio,
    target,
    time_interleaved,
    trainable_parameters,
    training_step,
)


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


def gru_cell(args, sizes: Sizes) -> dict:
    """The papers' GRU (reset before U, `ResetBeforeGRU`, a Python loop over time steps) vs `nn.GRU` (reset after,
    one fused kernel per layer), in the same model: training and decoding at the RNN sections' shapes."""
    input_ids = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed)
    labels = random_ids((sizes.train_batch, sizes.train_len), sizes.vocab_size, args.seed + 1)
    sources = random_ids((max(sizes.decode_batches), sizes.source_len), sizes.vocab_size, args.seed + 2)
    device, names = torch.device("cpu"), {"before": "reset before (papers)", "after": "reset after (nn.GRU)"}
    models = {reset: build(lambda r=reset: RNNSeq2SeqForConditionalGeneration(
        rnn_config(sizes, "bahdanau", gru_reset=r)), args.seed) for reset in names}
    training = []
    for reset, model in models.items():
        step = training_step(model, hf_loss(model, input_ids, labels), False, device)
        training.append(Contender(names[reset], step, labels.numel(), trainable_parameters(model)))
    time_interleaved(training, args.repeats, args.warmup)
    cases = [case_record(f"training, batch {sizes.train_batch} × {sizes.train_len} tokens", training,
                         "target tokens/s", peer=names["after"])]
    for num_beams, batch in ((1, max(sizes.decode_batches)), (sizes.num_beams, 1)):
        contenders = []
        for reset, model in models.items():
            model.eval()
            contenders.append(Contender(names[reset], generate_call(model, sources[:batch], num_beams, sizes.new_tokens),
                                        batch * sizes.new_tokens, trainable_parameters(model)))
        time_interleaved(contenders, args.repeats, args.warmup)
        cases.append(case_record(f"{search_name(num_beams)}, batch {batch}", contenders, "generated tokens/s",
                                 peer=names["after"]))
    return {"description": "Zoo 'small' RNN preset (bidirectional GRU encoder, GRU decoder, Bahdanau wiring, "
                           "additive score, dropout 0) with gru_reset='before' vs 'after'; the same parameter "
                           "count. The ratio chooses the presets' default (README, 'The RNN presets').",
            "config": rnn_config(sizes, "bahdanau", gru_reset="before").to_diff_dict(),
            "cases": cases, "targets": []}


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
