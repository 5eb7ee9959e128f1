"""scripts/benchmark runs end to end in quick mode, and its hand-written baselines are what it claims they are:
the zoo models' sizes, the same computation, and a beam loop that with one beam is the greedy loop."""

import importlib
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

BENCHMARK = Path(__file__).resolve().parents[2] / "scripts" / "benchmark"
MODULES = ["baselines", "report", "harness", "contenders", "sections", "cli"]


@pytest.fixture(scope="module")
def bench():
    """The benchmark's modules (scripts/benchmark/, which import each other by name) as one namespace."""
    sys.path.insert(0, str(BENCHMARK))
    try:
        modules = [importlib.import_module(name) for name in MODULES]
        yield SimpleNamespace(**{name: value for module in modules for name, value in vars(module).items()
                                 if not name.startswith("__")})
    finally:
        sys.path.remove(str(BENCHMARK))
        for name in MODULES:
            sys.modules.pop(name, None)


def test_quick_run_writes_every_section_to_json_markdown_and_png(bench, tmp_path):
    threads = torch.get_num_threads()
    report = bench.main(["--quick", "--output_dir", str(tmp_path)])
    assert torch.get_num_threads() == threads  # quick mode's single thread does not leak into the caller

    saved = json.loads((tmp_path / "benchmark.json").read_text())
    markdown = (tmp_path / "benchmark.md").read_text()
    assert (tmp_path / "sequence_length.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(saved["sections"]) == list(bench.SECTIONS) == list(report["sections"])
    for key in ("cpu", "cpu_count", "torch_threads", "torch", "transformers", "date"):
        assert saved["machine"][key] is not None
    for name, section in saved["sections"].items():
        assert f"## {name}" in markdown
        if section.get("skipped") is True:
            continue
        for case in section.get("cases", []):
            for result in case["contenders"].values():
                assert len(result["times_s"]) == 1 and result["min_s"] <= result["median_s"] <= result["max_s"]
        for goal in section.get("targets", []):
            assert goal["met"] in (True, False) and goal["target"] in markdown
    if torch.cuda.is_available():
        assert saved["sections"]["gpu"]["skipped"] is False
    else:
        assert saved["sections"]["gpu"]["skipped"] is True and "Skipped" in markdown

    sections = saved["sections"]
    training = sections["transformer_training"]["cases"][0]["contenders"]
    assert set(training) == {"zoo fp32", "Marian fp32", "torch.nn.Transformer fp32", "zoo bf16 autocast",
                             "Marian bf16 autocast"}
    assert all(result["peak_memory_bytes"] is None or result["peak_memory_bytes"] > 0 for result in training.values())
    new_tokens = saved["sizes"]["new_tokens"]
    for case in sections["transformer_decoding"]["cases"]:  # every contender produced exactly new_tokens tokens
        assert {shape[1] for shape in case["checks"]["output_lengths"].values()} == {new_tokens}
    assert [row["length"] for row in sections["sequence_length"]["rows"]] == [16, 32]
    assert len(sections["rnn_training"]["targets"]) == 2 and len(sections["rnn_decoding"]["targets"]) == 2


def test_gpu_section_code_runs_at_tiny_sizes_on_cpu(bench):
    """The GPU section only runs where CUDA is; its code path (bf16 training, MFU, decoding) is exercised here."""
    section = bench.gpu(bench.parse_args(["--quick"]), bench.QUICK_SIZES, device=torch.device("cpu"))
    training = section["cases"][0]
    assert section["skipped"] is False and 0 < training["mfu"] and training["model_flops_per_step"] > 0
    assert [case["case"].split(",")[0] for case in section["cases"]] == ["training", "decoding greedy",
                                                                         "decoding beam 2"]


def test_unknown_section_is_refused_with_the_valid_names(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "transformer_trainig"])
    assert "transformer_training" in capsys.readouterr().err


@pytest.mark.parametrize("sizes", ["quick", "full"])
def test_baselines_have_the_parameter_counts_the_benchmark_reports(bench, sizes):
    sizes = bench.QUICK_SIZES if sizes == "quick" else bench.Sizes()
    count = bench.trainable_parameters
    with torch.device("meta"):  # shapes only
        for wiring in ("bahdanau", "luong"):  # the hand-written GRU models: exactly the zoo's shapes
            _, zoo, baseline = bench.rnn_pair(sizes, wiring, seed=0)
            assert count(baseline) == count(zoo)
        config = bench.zoo_transformer_config(sizes)
        zoo = bench.TransformerSeq2SeqForConditionalGeneration(config)
        marian = bench.MarianMTModel(bench.marian_config(config))
        torch_model = bench.TorchTransformerSeq2Seq(
            config.vocab_size, config.d_model, config.encoder_attention_heads, config.encoder_layers,
            config.decoder_layers, config.encoder_ffn_dim, config.pad_token_id, config.decoder_start_token_id)
    # The one documented difference: the peers' q/k/v/out biases, 4·d_model per attention block.
    attention_blocks = config.encoder_layers + 2 * config.decoder_layers
    assert count(marian) == count(torch_model) == count(zoo) + 4 * config.d_model * attention_blocks
    if sizes == bench.Sizes():  # the Transformer-small: d_model 256, 3+3 layers, 4 heads, FFN 1024, 8k
        assert (config.d_model, config.encoder_layers, config.decoder_attention_heads,
                config.encoder_ffn_dim, config.vocab_size) == (256, 3, 4, 1024, 8000)


def zoo_name(baseline_name: str) -> str:
    """The zoo RNN parameter holding the same weight as a `GRUAttentionSeq2Seq` parameter."""
    renames = {"source_embedding.": "model.encoder.embed_tokens.", "target_embedding.": "model.decoder.embed_tokens.",
               "encoder.": "model.encoder.layers.0.", "bridge.": "model.decoder.bridge.", "output.": "lm_head.",
               "query.": "model.decoder.attention.query_projection.", "key.": "model.decoder.attention.key_projection.",
               "maxout.": "model.decoder.readout.linear.", "combine.": "model.decoder.attentional_projection.",
               "decoder.": "model.decoder.layers.0.", "v": "model.decoder.attention.v_a"}
    for prefix, replacement in renames.items():
        if baseline_name.startswith(prefix):
            name = replacement + baseline_name[len(prefix):]
            return name + "_l0" if prefix == "decoder." and not name.endswith("_l0") else name
    raise KeyError(baseline_name)


@pytest.fixture(params=["bahdanau", "luong"])
def same_weights(bench, request):
    """A tiny zoo RNN with large random weights (the paper's small init makes every output nearly uniform) and the
    hand-written baseline holding the same weights."""
    _, zoo, baseline = bench.rnn_pair(bench.QUICK_SIZES, request.param, seed=0)
    with torch.no_grad():
        zoo_parameters = dict(zoo.named_parameters())
        for name, parameter in baseline.named_parameters():
            zoo_parameters[zoo_name(name)].normal_(0.0, 0.4)
            parameter.copy_(zoo_parameters[zoo_name(name)])
    return zoo.eval(), baseline.eval()


def test_hand_written_baseline_computes_the_zoo_rnn(same_weights):
    zoo, baseline = same_weights
    generator = torch.Generator().manual_seed(0)
    input_ids, labels = (torch.randint(4, 120, (3, 7), generator=generator) for _ in range(2))
    expected = zoo(input_ids=input_ids, labels=labels).loss
    torch.testing.assert_close(baseline(input_ids, labels), expected)


def test_hand_written_loops_decode_what_generate_decodes(bench, same_weights):
    zoo, baseline = same_weights
    input_ids = torch.randint(4, 120, (2, 6), generator=torch.Generator().manual_seed(1))
    greedy = bench.generate_call(zoo, input_ids, num_beams=1, new_tokens=5)()
    assert torch.equal(baseline.greedy(input_ids, 5), greedy)
    beam = bench.generate_call(zoo, input_ids[:1], num_beams=3, new_tokens=5)()
    assert torch.equal(baseline.beam_search(input_ids[:1], num_beams=3, num_tokens=5), beam)


def test_hand_written_beam_with_one_beam_equals_greedy(same_weights):
    _, baseline = same_weights
    input_ids = torch.randint(4, 120, (1, 6), generator=torch.Generator().manual_seed(2))
    assert torch.equal(baseline.beam_search(input_ids, num_beams=1, num_tokens=6), baseline.greedy(input_ids, 6))


def test_training_flops_formula_counts_every_weight_once_per_token(bench):
    config = bench.TransformerSeq2SeqConfig.from_preset("base")
    with torch.device("meta"):
        model = bench.TransformerSeq2SeqForConditionalGeneration(config)
    matrices = sum(p.numel() for name, p in model.named_parameters() if p.dim() == 2 and "shared" not in name)
    # One source and one target token: each weight matrix read once (K/V of cross-attention by the source token),
    # plus the tied output projection; attention terms are 2·1·1·d per layer and attention kind.
    attention = 2 * config.d_model * (config.encoder_layers + 2 * config.decoder_layers)
    output_projection = config.d_model * config.vocab_size
    assert bench.transformer_training_flops(config, 1, 1, 1) == 6 * (matrices + output_projection + attention)
