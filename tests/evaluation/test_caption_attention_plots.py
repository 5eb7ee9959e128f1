"""Tests of hf_attention_zoo.evaluation.caption_attention_plots: Show, Attend and Tell's per-word grid and SAGAN's
per-query maps are written in every format with one image panel each; upsampling keeps where the attention is; the
mask is bright where a word attends; wrong shapes, counts and query cells are clear errors."""

import numpy as np
import pytest
import torch

from hf_attention_zoo.evaluation.caption_attention_plots import (
    _caption_panels,
    _overlay,
    plot_caption_attention,
    plot_feature_attention,
    upsample_map,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GRID = (3, 4)  # (grid_h, grid_w) of the feature map; the 24 × 32 image is 8 × 8 pixels a cell


@pytest.fixture
def matplotlib():
    return pytest.importorskip("matplotlib")


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)


def caption_weights(num_words: int) -> torch.Tensor:
    scores = torch.randn(num_words, GRID[0] * GRID[1], generator=torch.Generator().manual_seed(0))
    return torch.softmax(scores, dim=-1).view(num_words, *GRID)


def feature_weights() -> torch.Tensor:
    positions = GRID[0] * GRID[1]
    scores = torch.randn(positions, positions, generator=torch.Generator().manual_seed(1))
    return torch.softmax(scores, dim=-1)  # row = query position


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_caption_plot_writes_a_nonempty_file_in_the_suffix_format(matplotlib, image, tmp_path, suffix):
    words = ["a", "bird", "flying"]
    path = plot_caption_attention(image, words, caption_weights(3), tmp_path / "plots" / f"caption{suffix}")
    assert path == tmp_path / "plots" / f"caption{suffix}"
    data = path.read_bytes()
    assert len(data) > 0 and ((data[:8] == PNG_SIGNATURE) if suffix == ".png" else (b"<svg" in data))


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_feature_plot_writes_a_nonempty_file_in_the_suffix_format(matplotlib, image, tmp_path, suffix):
    path = plot_feature_attention(image, feature_weights(), GRID, [(0, 0), (2, 3)], tmp_path / f"sagan{suffix}")
    data = path.read_bytes()
    assert len(data) > 0 and ((data[:8] == PNG_SIGNATURE) if suffix == ".png" else (b"<svg" in data))


@pytest.mark.parametrize("columns", [1, 2, 5])
def test_caption_plot_has_the_plain_image_and_one_image_panel_per_word(matplotlib, image, tmp_path, columns):
    words = ["a", "bird", "flying", "over", "water", "."]
    path = plot_caption_attention(image, words, caption_weights(6).numpy(), tmp_path / "caption.svg",
                                  columns=columns)
    assert path.read_text().count("<image") == len(words) + 1

    panels = _caption_panels(image, words, caption_weights(6).numpy(), title=None)
    assert [title for title, _ in panels] == ["a bird flying over water ."] + words
    assert np.array_equal(panels[0][1], image)  # the first panel is the plain image


def test_feature_plot_has_one_image_panel_per_query(matplotlib, image, tmp_path):
    queries = [(0, 0), (1, 2), (2, 3)]
    path = plot_feature_attention(image, feature_weights(), GRID, queries, tmp_path / "sagan.svg")
    assert path.read_text().count("<image") == len(queries)


def test_caption_plot_accepts_a_pil_image(matplotlib, image, tmp_path):
    pil = pytest.importorskip("PIL.Image")
    path = plot_caption_attention(pil.fromarray(image).convert("L"), ["a", "b"], caption_weights(2),
                                  tmp_path / "caption.png", title="given title")
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_upsampled_map_has_the_requested_shape_and_keeps_the_mass_where_it_was():
    grid = np.zeros((4, 4))
    grid[0, 0] = 1.0
    upsampled = upsample_map(grid, (32, 48))
    assert upsampled.shape == (32, 48)
    quadrants = [upsampled[:16, :24], upsampled[:16, 24:], upsampled[16:, :24], upsampled[16:, 24:]]
    sums = [q.sum() for q in quadrants]
    assert sums[0] > 0 and sums[1:] == [0.0, 0.0, 0.0]  # bilinear reaches one cell away, not a quadrant away
    assert upsampled[0, 0] == upsampled.max() == 1.0  # the corner cell's weight holds out to the border
    assert np.allclose(upsample_map(torch.from_numpy(grid).float(), (32, 48)), upsampled)  # tensor == array


def test_upsampling_keeps_a_uniform_map_uniform_and_values_between_cells_in_between():
    assert np.allclose(upsample_map(np.full((3, 5), 0.25), (7, 11)), 0.25)
    ramp = upsample_map(np.array([[0.0, 1.0]]), (1, 8))[0]
    assert np.all(np.diff(ramp) >= 0) and ramp[0] == 0.0 and ramp[-1] == 1.0 and 0 < ramp[4] < 1


def test_overlay_is_brightest_where_the_map_attends():
    black = np.zeros((24, 32, 3), dtype=np.uint8)
    grid = np.zeros(GRID)
    grid[2, 3] = 0.3  # scaled to its maximum for display: 0.3 shows as white
    blended = _overlay(black, grid)
    assert blended.dtype == np.uint8 and blended.shape == black.shape
    assert blended[-1, -1].tolist() == [153, 153, 153]  # 0.6 · 255: the mask blended in at OVERLAY_ALPHA
    assert blended[0, 0].tolist() == [0, 0, 0]
    assert _overlay(black, np.zeros(GRID)).max() == 0  # an all-zero map is black, not NaN


def test_mismatched_words_and_maps_raise_naming_both_counts(matplotlib, image, tmp_path):
    with pytest.raises(ValueError, match="3 words but 4 attention maps"):
        plot_caption_attention(image, ["a", "bird", "flying"], caption_weights(4), tmp_path / "caption.png")
    with pytest.raises(ValueError, match=r"\(num_words, grid_h, grid_w\).*\(3, 4\)"):
        plot_caption_attention(image, ["a", "bird", "flying"], torch.rand(3, 4), tmp_path / "caption.png")
    assert not (tmp_path / "caption.png").exists()


@pytest.mark.parametrize("query", [(3, 0), (0, 4), (-1, 2)])
def test_query_outside_the_grid_raises_naming_the_query_and_the_grid(matplotlib, image, tmp_path, query):
    with pytest.raises(ValueError, match=rf"query \({query[0]}, {query[1]}\) is not a cell of the 3 × 4 grid"):
        plot_feature_attention(image, feature_weights(), GRID, [(0, 0), query], tmp_path / "sagan.png")


def test_feature_weights_that_do_not_fit_the_grid_raise_naming_the_shapes(matplotlib, image, tmp_path):
    with pytest.raises(ValueError, match=r"shape \(12, 12\) do not fit grid_size \(4, 4\).*\(16, 16\)"):
        plot_feature_attention(image, feature_weights(), (4, 4), [(0, 0)], tmp_path / "sagan.png")
    with pytest.raises(ValueError, match="grid_size must be two positive integers"):
        plot_feature_attention(image, feature_weights(), (12, 0), [(0, 0)], tmp_path / "sagan.png")
    with pytest.raises(ValueError, match="queries is empty"):
        plot_feature_attention(image, feature_weights(), GRID, [], tmp_path / "sagan.png")


def test_bad_images_and_paths_are_clear_errors(matplotlib, image, tmp_path):
    weights = caption_weights(1)
    with pytest.raises(ValueError, match=r"\(height, width, 3\) uint8 array, got shape \(24, 32, 3\) and dtype float"):
        plot_caption_attention(image / 255.0, ["a"], weights, tmp_path / "caption.png")
    with pytest.raises(TypeError, match="got list"):
        plot_caption_attention(image.tolist(), ["a"], weights, tmp_path / "caption.png")
    with pytest.raises(ValueError, match="ending in one of .png"):
        plot_caption_attention(image, ["a"], weights, tmp_path / "caption.jpg")
    with pytest.raises(ValueError, match="columns must be a positive integer"):
        plot_caption_attention(image, ["a"], weights, tmp_path / "caption.png", columns=0)
