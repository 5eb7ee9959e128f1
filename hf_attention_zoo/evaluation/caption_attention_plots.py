"""Attention over a CNN feature grid drawn on the image: a caption's per-word maps and SAGAN's per-query maps.

Papers: Xu et al. 2015, Show, Attend and Tell (arXiv:1502.03044) §5.4, Fig. 2-3; Zhang et al. 2018, Self-Attention
GANs (arXiv:1805.08318) §3 eq. 1, Fig. 1 and 5.
"""

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .attention_maps import PLOT_FORMATS

# The share of the attention mask in a blended pixel: 0 shows the plain image, 1 the mask alone. The mask is white
# where attention is at its maximum and black where it is zero (Show, Attend and Tell Fig. 2-3).
OVERLAY_ALPHA = 0.6
PANEL_INCHES = 2.4  # width of one panel; its height follows the image's aspect ratio
CAPTION_CHARACTERS = 28  # the first panel's title wraps at this many characters, to stay within its panel


def upsample_map(weights_2d: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (grid_h, grid_w) attention map resized to `size` = (height, width) by bilinear interpolation, as a float64
    array (height, width). Each cell's weight sits at its cell's centre (half-pixel centres, `align_corners=False`,
    like PIL and `torch.nn.functional.interpolate`) and is held constant out to the image border, so a grid that
    evenly tiles the image lines up with it. The values are not renormalised.
    """
    # Deviation from paper: Xu et al. §5.4 upsample by 16 and blur with a Gaussian; bilinear is as smooth to the eye,
    # fits any image size and needs no sigma tuned to the grid.
    weights = torch.from_numpy(_numpy(weights_2d))
    if weights.dim() != 2 or 0 in weights.shape:
        raise ValueError(f"weights_2d must be one non-empty (grid_h, grid_w) map, got shape {tuple(weights.shape)}.")
    height, width = _size(size)
    upsampled = F.interpolate(weights[None, None], size=(height, width), mode="bilinear", align_corners=False)
    return upsampled[0, 0].numpy()


def plot_caption_attention(
    image,
    words: list[str],
    weights: torch.Tensor | np.ndarray,
    path: str | Path,
    columns: int = 5,
    title: str | None = None,
) -> Path:
    """Write Show, Attend and Tell's Fig. 2-3 to `path` (.png, .pdf or .svg): the image with the caption as its title,
    then one panel per word, the image under that word's attention map (alpha_t, Xu et al. eq. 4-5), panels filled
    row by row, `columns` to a row. Each map is bilinearly upsampled to the image (`upsample_map`) and scaled to its
    own maximum, so every panel shows where its word looks, not how peaked its map is; the mask is white at the
    maximum and black at zero, blended in at `OVERLAY_ALPHA`. Axes are off. Needs matplotlib
    (`pip install -e '.[plot]'`); draws with the Agg backend without touching pyplot's global state.

    Args:
        image: a PIL image (any mode, shown as RGB) or an (height, width, 3) uint8 array.
        words: the caption's words (or tokens), one per row of `weights`.
        weights: (num_words, grid_h, grid_w) one map over the encoder's feature grid per word, e.g. the 14 × 14
            grid of a VGG conv5_4 (Xu et al. §4.1); the grid evenly tiles the image.
        path: the file to write; its suffix picks the format.
        columns: panels per row.
        title: the first panel's title; defaults to the words joined by spaces.

    Returns:
        The path written.
    """
    _require_matplotlib("plot_caption_attention")
    path = _plot_path(path)
    pixels = _image_array(image)
    maps = _numpy(weights)
    if maps.ndim != 3:
        raise ValueError(f"weights must be (num_words, grid_h, grid_w), one map per word, got shape {maps.shape}.")
    if len(words) != maps.shape[0]:
        raise ValueError(f"{len(words)} words but {maps.shape[0]} attention maps (weights of shape {maps.shape}): "
                         "pass one (grid_h, grid_w) map per word, in the caption's order.")
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a positive integer, got {columns!r}.")
    panels = _caption_panels(pixels, words, maps, title)
    figure, axes = _grid(len(panels), min(columns, len(panels)), pixels.shape)
    for ax, (panel_title, panel) in zip(axes, panels):
        ax.imshow(panel, interpolation="nearest")
        ax.set_title(panel_title, fontsize=9)
    return _save(figure, path)


def plot_feature_attention(
    image,
    weights: torch.Tensor | np.ndarray,
    grid_size: tuple[int, int],
    queries: list[tuple[int, int]],
    path: str | Path,
) -> Path:
    """Write SAGAN's Fig. 1/5 to `path` (.png, .pdf or .svg): for each query cell, the image under the map of where
    that position's self-attention output draws from (beta_j, Zhang et al. eq. 1), with the query cell outlined in
    red. Maps are drawn like `plot_caption_attention`'s: upsampled bilinearly, scaled to their maximum, white mask.
    Needs matplotlib (`pip install -e '.[plot]'`).

    Args:
        image: a PIL image or an (height, width, 3) uint8 array, the input (or output) the feature map belongs to.
        weights: (L, L), L = grid_h · grid_w: row j is query position j's attention over all positions (softmax over
            the row, so it sums to 1), positions in row-major order (r · grid_w + c), as the feature map
            (batch, channels, grid_h, grid_w) flattens. Pick one batch element (and head) first.
        grid_size: (grid_h, grid_w) of the feature map; it evenly tiles the image.
        queries: (row, column) cells of the feature grid whose maps to draw, one panel each, in a row of at most 5.
        path: the file to write; its suffix picks the format.

    Returns:
        The path written.
    """
    _require_matplotlib("plot_feature_attention")
    from matplotlib.patches import Rectangle

    path = _plot_path(path)
    pixels = _image_array(image)
    maps = _numpy(weights)
    grid_h, grid_w = _size(grid_size, name="grid_size")
    positions = grid_h * grid_w
    if maps.shape != (positions, positions):
        raise ValueError(f"weights of shape {maps.shape} do not fit grid_size {(grid_h, grid_w)}: pass the "
                         f"(L, L) = ({positions}, {positions}) map of one batch element, row = query position.")
    if len(queries) == 0:
        raise ValueError("queries is empty: pass at least one (row, column) cell of the feature grid.")
    for query in queries:
        if (len(query) != 2 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in query)
                or not (0 <= query[0] < grid_h and 0 <= query[1] < grid_w)):
            raise ValueError(f"query {tuple(query)} is not a cell of the {grid_h} × {grid_w} grid: pass (row, column) "
                             f"with 0 <= row < {grid_h} and 0 <= column < {grid_w}.")
    height, width = pixels.shape[:2]
    cell_h, cell_w = height / grid_h, width / grid_w
    figure, axes = _grid(len(queries), min(len(queries), 5), pixels.shape)
    for ax, (row, column) in zip(axes, queries):
        query_map = maps[row * grid_w + column].reshape(grid_h, grid_w)
        ax.imshow(_overlay(pixels, query_map), interpolation="nearest")
        # Pixel centres sit at integers in imshow, so the cell's edges are half a pixel before its first pixel.
        ax.add_patch(Rectangle((column * cell_w - 0.5, row * cell_h - 0.5), cell_w, cell_h, fill=False,
                               edgecolor="red", linewidth=1.5))
        ax.plot([(column + 0.5) * cell_w - 0.5], [(row + 0.5) * cell_h - 0.5], marker="+", color="red",
                markersize=6)
        ax.set_title(f"query ({row}, {column})", fontsize=9)
    return _save(figure, path)


def _require_matplotlib(caller: str) -> None:
    """matplotlib is the optional `plot` extra: imported on first use, with the command that installs it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(f"{caller} needs matplotlib ({error}); install it: pip install -e '.[plot]'.") from error


def _plot_path(path: str | Path) -> Path:
    """`path` as a Path, checked before any drawing: its suffix picks the format."""
    path = Path(path)
    if path.suffix.lower() not in PLOT_FORMATS:
        raise ValueError(f"Cannot write a plot to {path}: name a file ending in one of {', '.join(PLOT_FORMATS)}.")
    return path


def _size(size: tuple[int, int], name: str = "size") -> tuple[int, int]:
    if (len(size) != 2 or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in size)
            or min(size) < 1):
        raise ValueError(f"{name} must be two positive integers (height, width), got {size!r}.")
    return int(size[0]), int(size[1])


def _numpy(weights: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(weights, torch.Tensor):
        return weights.detach().to(torch.float64).cpu().numpy()
    return np.asarray(weights, dtype=np.float64)


def _image_array(image) -> np.ndarray:
    """`image` as a (height, width, 3) uint8 array."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
            raise ValueError(f"image must be an (height, width, 3) uint8 array, got shape {image.shape} and dtype "
                             f"{image.dtype}; convert it, e.g. (array * 255).round().astype(numpy.uint8) for floats "
                             "in [0, 1].")
        return image
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    raise TypeError(f"image must be a PIL image or an (height, width, 3) uint8 numpy array, got "
                    f"{type(image).__name__}.")


def _overlay(pixels: np.ndarray, grid_map: np.ndarray) -> np.ndarray:
    """The (height, width, 3) uint8 image blended with `grid_map` upsampled to it and scaled to its maximum, as a
    grey mask (white = the map's maximum). Blended here rather than by a second imshow, so each panel is one image
    in every format."""
    mask = upsample_map(grid_map, pixels.shape[:2])
    peak = mask.max()
    mask = mask / peak if peak > 0 else np.zeros_like(mask)  # an all-zero map shows as black, not as NaN
    blended = (1 - OVERLAY_ALPHA) * pixels + OVERLAY_ALPHA * 255.0 * mask[..., None]
    return blended.round().clip(0, 255).astype(np.uint8)


def _caption_panels(
    pixels: np.ndarray, words: Sequence[str], maps: np.ndarray, title: str | None
) -> list[tuple[str, np.ndarray]]:
    """(panel title, (height, width, 3) uint8 image) of every panel of `plot_caption_attention`, in order: the plain
    image first, then one per word."""
    caption = textwrap.fill(" ".join(words) if title is None else title, CAPTION_CHARACTERS)
    return [(caption, pixels)] + [(word, _overlay(pixels, word_map)) for word, word_map in zip(words, maps)]


def _grid(panels: int, columns: int, image_shape: tuple[int, ...]):
    """A figure (Agg canvas, pyplot untouched) with `panels` axes, `columns` to a row, their axes off; returns
    (figure, axes in reading order)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = math.ceil(panels / columns)
    aspect = image_shape[0] / image_shape[1]
    figure = Figure(figsize=(PANEL_INCHES * columns, (PANEL_INCHES * aspect + 0.5) * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(rows, columns, index + 1) for index in range(panels)]
    for ax in axes:
        ax.set_axis_off()
    return figure, axes


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150, bbox_inches="tight")
    return path


__all__ = ["plot_caption_attention", "plot_feature_attention", "upsample_map"]
