"""positional_encoding: the §3.5 sinusoids, the learned table's limit, Shaw et al.'s clipped relative distances."""

import math

import pytest
import torch

from hf_attention_zoo.models.positional_encoding import (
    LearnedPositionalEmbedding,
    RelativePositionEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_position_encoding,
)
from support.transformer_fixtures import tiny_model


def test_sinusoids_follow_the_paper_formula():
    d_model = 8
    encoding = sinusoidal_position_encoding(torch.arange(50), d_model)
    for pos in (0, 1, 17, 49):
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            assert encoding[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert encoding[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)


def test_sinusoidal_module_offsets_by_the_cached_length():
    module = SinusoidalPositionalEncoding(16)
    full = module(torch.zeros(1, 10, 16))
    assert torch.equal(module(torch.zeros(1, 3, 16), past_length=7), full[7:])


def test_sinusoidal_positions_work_beyond_max_position_embeddings():
    model = tiny_model(max_position_embeddings=8)
    input_ids = torch.randint(3, 99, (1, 20))
    with torch.no_grad():
        logits = model(input_ids=input_ids, decoder_input_ids=input_ids).logits
    assert logits.shape == (1, 20, 99) and torch.isfinite(logits).all()


def test_learned_positions_beyond_the_table_raise_a_clear_error():
    model = tiny_model(position_embedding_type="learned", max_position_embeddings=8)
    with pytest.raises(ValueError, match=r"length 9 needs position 8.*max_position_embeddings=8.*sinusoidal"):
        model(input_ids=torch.randint(3, 99, (1, 9)), decoder_input_ids=torch.ones(1, 2, dtype=torch.long))
    table = LearnedPositionalEmbedding(8, 4)
    assert table(torch.zeros(1, 8, 4)).shape == (8, 4)
    with pytest.raises(ValueError, match="length 10"):
        table(torch.zeros(1, 3, 4), past_length=7)  # a cached decoder step past the table


def test_relative_distances_are_clipped_at_k():
    relative = RelativePositionEmbedding(max_relative_position=2, head_dim=4)
    keys, values = relative(query_length=6, key_length=6)
    assert keys.shape == values.shape == (6, 6, 4)
    table = relative.keys.weight  # rows for distances -2 .. 2
    assert torch.equal(keys[0, 1], table[3])  # j - i = 1
    assert torch.equal(keys[5, 0], table[0])  # j - i = -5, clipped to -2
    assert torch.equal(keys[0, 5], table[4])  # j - i = 5, clipped to 2
    assert torch.equal(keys[3, 3], table[2])  # same position


def test_relative_queries_are_the_last_positions_when_decoding_with_a_cache():
    relative = RelativePositionEmbedding(max_relative_position=3, head_dim=4)
    full_keys, full_values = relative(6, 6)
    step_keys, step_values = relative(1, 6)  # the newest query over all 6 keys
    assert torch.equal(step_keys, full_keys[5:]) and torch.equal(step_values, full_values[5:])


def test_sinusoidal_table_grows_past_its_first_size_and_matches_the_formula():
    module = SinusoidalPositionalEncoding(16)
    module(torch.zeros(1, 4, 16))  # builds the first table
    beyond = module(torch.zeros(1, 5, 16), past_length=400)
    assert torch.equal(beyond, sinusoidal_position_encoding(torch.arange(400, 405), 16))
