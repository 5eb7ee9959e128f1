"""The RNN presets against their papers' own numbers and equations: Sutskever et al. 2014's parameter count, what
each decoder reads, the papers' GRU, source reversal, the bridges and the initialisations."""

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from hf_attention_zoo import RNN_PRESETS, RNNSeq2SeqConfig, RNNSeq2SeqForConditionalGeneration
from hf_attention_zoo.models.rnn_attention import AdditiveAttention
from hf_attention_zoo.models.rnn_cells import ResetBeforeGRU

README = Path(__file__).resolve().parents[2] / "README.md"
SMALL_SIZES = dict(vocab_size=97, embedding_size=24, hidden_size=32, attention_hidden_size=20)


def small_preset(name: str, seed: int = 0, **overrides) -> RNNSeq2SeqForConditionalGeneration:
    """A preset at test sizes; everything the paper chose (cells, wiring, init, start) is kept."""
    sizes = dict(SMALL_SIZES)
    if not RNN_PRESETS[name].get("bidirectional_encoder", True):
        sizes["encoder_hidden_size"] = 32
    if "readout_size" in RNN_PRESETS[name]:
        sizes["readout_size"] = 14
    if "decoder_vocab_size" in RNN_PRESETS[name]:
        sizes["decoder_vocab_size"] = 61
    torch.manual_seed(seed)
    return RNNSeq2SeqForConditionalGeneration(RNNSeq2SeqConfig.from_preset(name, **{**sizes, **overrides})).eval()


def count_parameters(config: RNNSeq2SeqConfig) -> tuple[int, int]:
    """(all parameters, parameters of the recurrent layers) of a model built on the meta device (no memory)."""
    with torch.device("meta"):
        model = RNNSeq2SeqForConditionalGeneration(config)
    recurrent = sum(
        p.numel() for m in model.modules() if isinstance(m, (nn.RNNBase, ResetBeforeGRU)) for p in m.parameters()
    )
    return model.num_parameters(), recurrent


def sources(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 61, (2, 6), generator=generator)
    return ids, torch.ones_like(ids)


def two_encoded_sources(model):
    """(mask, encoder output of source A, of source B, target-side decoder ids) for a model of `small_preset`."""
    ids_a, mask = sources(0)
    ids_b, _ = sources(1)
    decoder_ids = torch.randint(3, model.config.decoder_vocab_size, (2, 5), generator=torch.Generator().manual_seed(2))
    return mask, model.get_encoder()(ids_a, mask), model.get_encoder()(ids_b, mask), decoder_ids


# Sutskever et al. §3.4 -------------------------------------------------------------------------------------------


def test_sutskever_preset_has_the_papers_384m_parameters_of_which_64m_recurrent():
    # "The resulting LSTM has 384M parameters of which 64M are pure recurrent connections (32M for the "encoder"
    # LSTM and 32M for the "decoder" LSTM)": 4 layers of 1000 cells, 1000-dim embeddings, 160k / 80k vocabularies.
    config = RNNSeq2SeqConfig.from_preset("sutskever2014")
    assert (config.vocab_size, config.decoder_vocab_size) == (160_000, 80_000)
    total, recurrent = count_parameters(config)
    assert round(total / 1e6) == 384
    assert round(recurrent / 1e6) == 64
    # the rest is the three word tables, 160k + 80k embeddings and the 80k-way softmax, 1000 wide each
    assert total - recurrent == (160_000 + 80_000 + 80_000) * 1000


def test_readme_lists_the_measured_parameter_count_of_every_preset():
    text = README.read_text()
    for name in RNN_PRESETS:
        total, _ = count_parameters(RNNSeq2SeqConfig.from_preset(name))
        row = next((line for line in text.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row is not None, f"README's preset table has no row for {name}"
        assert f"{total:,}" in row, f"README's row for {name} should give the measured count {total:,}: {row}"


def test_sutskever_decoder_sees_the_source_only_through_its_initial_state():
    model = small_preset("sutskever2014")
    mask, encoder_a, encoder_b, decoder_ids = two_encoded_sources(model)

    def logits(cache_from, states_from):
        cache = model.model.decoder.start(
            cache_from.last_hidden_state, mask, cache_from.final_hidden_state, cache_from.final_cell_state
        )
        encoder_outputs = type(states_from)(**{**states_from, "final_hidden_state": cache_from.final_hidden_state,
                                               "final_cell_state": cache_from.final_cell_state})
        return model(encoder_outputs=encoder_outputs, attention_mask=mask, decoder_input_ids=decoder_ids,
                     cache=cache, output_hidden_states=True)

    same_start = logits(encoder_a, encoder_a)
    # another source's states everywhere but the initial state: nothing changes
    torch.testing.assert_close(logits(encoder_a, encoder_b).logits, same_start.logits, rtol=0, atol=0)
    # another initial state: everything changes
    assert not torch.allclose(logits(encoder_b, encoder_b).logits[:, 0], same_start.logits[:, 0])
    # the softmax reads the top LSTM state itself, with no layer between
    torch.testing.assert_close(same_start.logits, model.lm_head(same_start.decoder_hidden_states[-1]))
    # and the decoder starts from each encoder layer's final (h, c)
    cache = model.model.decoder.start(encoder_a.last_hidden_state, mask, encoder_a.final_hidden_state,
                                      encoder_a.final_cell_state)
    torch.testing.assert_close(cache.hidden, encoder_a.final_hidden_state)
    torch.testing.assert_close(cache.cell, encoder_a.final_cell_state)


# Cho et al. §2.2, App. A -----------------------------------------------------------------------------------------


def test_cho_decoder_reads_the_context_at_every_step():
    model = small_preset("cho2014")
    mask, encoder_a, encoder_b, decoder_ids = two_encoded_sources(model)
    decoder = model.model.decoder
    # c = tanh(V h_N), and h'_0 = tanh(V' c) with no bias
    cache_a = decoder.start(encoder_a.last_hidden_state, mask, encoder_a.final_hidden_state)
    expected_c = torch.tanh(decoder.context_projection(encoder_a.final_hidden_state[:, -1]))
    torch.testing.assert_close(cache_a.summary, expected_c)
    assert decoder.bridge.bias is None and decoder.context_projection.bias is None
    torch.testing.assert_close(cache_a.hidden[:, 0], torch.tanh(decoder.bridge(expected_c)))
    # the same initial state with another c changes every output position
    cache_b = decoder.start(encoder_a.last_hidden_state, mask, encoder_a.final_hidden_state)
    cache_b.summary = decoder.start(encoder_b.last_hidden_state, mask, encoder_b.final_hidden_state).summary
    assert torch.equal(cache_a.hidden, cache_b.hidden) and not torch.allclose(cache_a.summary, cache_b.summary)
    run = lambda cache: model(encoder_outputs=encoder_a, attention_mask=mask, decoder_input_ids=decoder_ids,
                              cache=cache).logits
    logits_a, logits_b = run(cache_a), run(cache_b)
    for step in range(decoder_ids.shape[1]):
        assert not torch.allclose(logits_a[:, step], logits_b[:, step]), f"step {step} ignored c"


# The GRU of the papers ---------------------------------------------------------------------------------------------


def paper_gru_step(x, h, layer):
    """Cho et al. eqs. 5-8 written out: r and z from [x, h]; h~ = tanh(W x + U (r ∘ h)); h' = z h + (1 − z) h~."""
    n = layer.hidden_size
    w_r, w_z, w = layer.weight_ih_l0.split(n)
    u_r, u_z, u = layer.weight_hh_l0.split(n)
    b_r, b_z, b = layer.bias_ih_l0.split(n)
    r = torch.sigmoid(x @ w_r.T + h @ u_r.T + b_r)
    z = torch.sigmoid(x @ w_z.T + h @ u_z.T + b_z)
    candidate = torch.tanh(x @ w.T + (r * h) @ u.T + b)
    return z * h + (1 - z) * candidate


def test_reset_before_gru_computes_the_papers_equations_and_differs_from_nn_gru():
    torch.manual_seed(0)
    layer = ResetBeforeGRU(5, 7)
    x, h = torch.randn(3, 4, 5), torch.randn(1, 3, 7)
    outputs, final = layer(x, h)
    state = h[0]
    for t in range(4):
        state = paper_gru_step(x[:, t], state, layer)
        torch.testing.assert_close(outputs[:, t], state)
    torch.testing.assert_close(final[0], state)
    # nn.GRU with the same weights (its extra b_hn set to zero) is another function
    reference = nn.GRU(5, 7, batch_first=True)
    with torch.no_grad():
        reference.weight_ih_l0.copy_(layer.weight_ih_l0)
        reference.weight_hh_l0.copy_(layer.weight_hh_l0)
        reference.bias_ih_l0.copy_(layer.bias_ih_l0)
        reference.bias_hh_l0.zero_()
    assert (reference(x, h)[0] - outputs).abs().max() > 1e-2


def test_reset_before_gru_padded_rows_and_backward_direction_equal_each_row_alone():
    torch.manual_seed(0)
    layer = ResetBeforeGRU(5, 6, bidirectional=True)
    x = torch.randn(2, 5, 5)
    lengths = torch.tensor([5, 3])
    outputs, final = layer(x, lengths=lengths)
    alone, alone_final = layer(x[1:, :3])
    torch.testing.assert_close(outputs[1:, :3], alone)
    torch.testing.assert_close(final[:, 1:], alone_final)
    assert torch.all(outputs[1, 3:] == 0)
    # the backward direction of a row is the forward direction over the reversed row
    backward = ResetBeforeGRU(5, 6)
    backward.load_state_dict({k.replace("_reverse", ""): v for k, v in layer.state_dict().items() if "reverse" in k})
    reversed_outputs, _ = backward(x[1:, :3].flip(1))
    torch.testing.assert_close(outputs[1:, :3, 6:], reversed_outputs.flip(1))


@pytest.mark.parametrize("name", ["bahdanau2015", "cho2014"])
def test_gru_presets_use_the_papers_gru(name):
    model = small_preset(name)
    recurrent = [m for m in model.modules() if isinstance(m, (nn.RNNBase, ResetBeforeGRU))]
    assert recurrent and all(isinstance(m, ResetBeforeGRU) for m in recurrent)


# Source reversal (Sutskever et al. §3.3) -------------------------------------------------------------------------


def test_reversed_source_reads_the_tokens_backwards_keeps_eos_last_and_returns_states_in_source_order():
    reversed_model = small_preset("sutskever2014")
    plain = small_preset("sutskever2014", reverse_source=False)
    plain.load_state_dict(reversed_model.state_dict())
    ids = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 11, 1, 1]])  # row 0 ends in eos; row 1 has no eos, 2 pads
    mask = (ids != 1).long()
    by_hand = torch.tensor([[8, 7, 6, 5, 2], [11, 10, 9, 1, 1]])
    out = reversed_model.get_encoder()(ids, mask)
    expected = plain.get_encoder()(by_hand, mask)
    torch.testing.assert_close(out.final_hidden_state, expected.final_hidden_state)
    torch.testing.assert_close(out.final_cell_state, expected.final_cell_state)
    order = torch.tensor([[3, 2, 1, 0, 4], [2, 1, 0, 3, 4]])  # where each source position was read
    for row in range(2):
        torch.testing.assert_close(out.last_hidden_state[row], expected.last_hidden_state[row, order[row]])


def test_reversed_source_applies_in_generate_and_in_the_pipeline_path_alike():
    model = small_preset("luong2015")
    ids = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 11, 2, 1]])
    mask = (ids != 1).long()
    generated = model.generate(ids, attention_mask=mask, max_new_tokens=4, num_beams=2, output_attentions=True,
                               return_dict_in_generate=True)
    one_by_one = [model.generate(ids[i : i + 1, : int(mask[i].sum())], max_new_tokens=4, num_beams=2)
                  for i in range(2)]
    for row, alone in enumerate(one_by_one):
        assert generated.sequences[row, : alone.shape[1]].tolist() == alone[0].tolist()


# Bahdanau et al. App. A.2.2 --------------------------------------------------------------------------------------


def test_bahdanau_decoder_starts_from_the_backward_state_of_the_first_word_without_bias():
    model = small_preset("bahdanau2015")
    ids, mask = sources(0)
    encoder = model.get_encoder()(ids, mask)
    decoder = model.model.decoder
    assert decoder.bridge.bias is None
    cache = decoder.start(encoder.last_hidden_state, mask, encoder.final_hidden_state)
    backward_first = encoder.last_hidden_state[:, 0, 32:]  # h<-_1
    torch.testing.assert_close(cache.hidden[:, 0], torch.tanh(decoder.bridge(backward_first)))
    assert decoder.readout.linear.out_features == 14 * 2  # l maxout units pooling 2


# Initialisation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bahdanau2015", "cho2014", "small"])
def test_every_gate_block_of_every_recurrent_matrix_is_orthogonal(name):
    model = small_preset(name)
    matrices = [p for n, p in model.named_parameters() if "weight_hh" in n]
    assert matrices
    for weight in matrices:
        n = weight.shape[1]
        for block in weight.detach().unflatten(0, (-1, n)):
            torch.testing.assert_close(block.T @ block, torch.eye(n), atol=1e-4, rtol=0)


@pytest.mark.parametrize("name, bound", [("sutskever2014", 0.08), ("luong2015", 0.1)])
def test_uniform_presets_draw_every_parameter_from_the_papers_range(name, bound):
    model = small_preset(name)
    values = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert values.abs().max() <= bound
    assert values.abs().max() > 0.95 * bound  # the whole range is used, not a narrower one
    assert abs(values.std().item() - bound / 3**0.5) < 0.05 * bound  # the std of U(-b, b)


@pytest.mark.parametrize("name", ["bahdanau2015", "cho2014"])
def test_normal_presets_follow_bahdanau_appendix_b1(name):
    model = small_preset(name, hidden_size=64, encoder_hidden_size=64, embedding_size=64, attention_hidden_size=64)
    for module in model.modules():
        if isinstance(module, AdditiveAttention):
            assert torch.all(module.v_a == 0)
            assert module.key_projection.weight.std() < 0.002 and module.query_projection.weight.std() < 0.002
    for name_, param in model.named_parameters():
        if "bias" in name_:
            assert torch.all(param == 0), name_
        elif "weight_ih" in name_ or "embed_tokens" in name_ or "lm_head" in name_:
            assert 0.008 < param.std() < 0.012, name_


def test_readme_cites_appendix_b1_for_the_initialisation():
    text = README.read_text()
    assert not re.search(r"App(endix|\.) A\.2[^.]*initiali[sz]", text)
    assert "App. B.1" in text
