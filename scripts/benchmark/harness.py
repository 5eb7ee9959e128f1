"""The benchmark's harness: sizes of a run, contenders timed interleaved (A B C A B C ...) with medians, min/max
and ratios, peak memory, and the targets a ratio is checked against."""

import operator
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch


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
