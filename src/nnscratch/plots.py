"""Matplotlib helpers: one visual style for the whole book, and the figures it reuses.

Importing this module applies the book's style (`BOOK_STYLE`) once, so chapters never edit
`rcParams` themselves. Helpers that build widget frames use `new_figure()`, a bare
`matplotlib.figure.Figure` with the Agg canvas, so no GUI backend or pyplot state is
involved, and `to_png()` turns it into bytes. Every PNG from `to_png()` records the size of
its smallest text in pixels (`MIN_TEXT_KEY`), so that the site's browser tests can tell how
large that text is on a phone, where the picture is shown narrower than it was drawn.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

# Colour-blind-safe palette (Okabe and Ito), used in this order across the book.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
KEPT_COLOR = "#0072B2"
DROPPED_COLOR = "#C8C8C8"

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "legend.frameon": False,
    "image.cmap": "gray_r",
    "image.interpolation": "nearest",
}
mpl.rcParams.update(BOOK_STYLE)


def new_figure(width: float = 6.4, height: float = 3.6) -> Figure:
    """A Figure detached from pyplot (nothing to close, no backend needed)."""
    return Figure(figsize=(width, height), layout="constrained")


# PNG text chunk written by `to_png`: the height in pixels of the picture's smallest font.
MIN_TEXT_KEY = "nnscratch:min-text-px"


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render `fig` to PNG bytes, noting its smallest text size in a `MIN_TEXT_KEY` chunk.

    The chunk holds `points * dpi / 72` for the smallest visible text ("none" if the figure
    has no text): at a displayed width of `w` CSS px for a picture `W` pixels wide, that text
    is `size * w / W` CSS px tall.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    # After savefig: tick labels get their text only when the figure is drawn.
    sizes = [text.get_fontsize() for text in _drawn_texts(fig)]
    size = f"{min(sizes) * dpi / 72:.2f}" if sizes else "none"
    return _with_png_text(buffer.getvalue(), MIN_TEXT_KEY, size)


def _drawn_texts(artist: Artist) -> Iterator[Text]:
    """The visible, non-empty texts under `artist` (axes drawn with `set_axis_off` skipped)."""
    if not artist.get_visible():
        return
    if isinstance(artist, Text) and artist.get_text().strip():
        yield artist
    for child in artist.get_children():
        if isinstance(artist, Axes) and not artist.axison and isinstance(child, Axis):
            continue
        yield from _drawn_texts(child)


def _with_png_text(png: bytes, key: str, value: str) -> bytes:
    """`png` with a tEXt chunk `key`/`value` right after its header chunk (IHDR)."""
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(chunk[4:]) & 0xFFFFFFFF)
    end_of_ihdr = 8 + 4 + 4 + 13 + 4  # signature, then IHDR: length, type, 13 bytes, CRC
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def digit_grid(
    ax: Axes,
    images: np.ndarray,
    ncols: int = 8,
    gap: int = 2,
    vmax: float | None = None,
) -> None:
    """Draw images `(n, h, w)` as one tiled picture with `gap` blank pixels between tiles."""
    images = np.asarray(images, dtype=float)
    n, h, w = images.shape
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = image
    cmap = mpl.colormaps["gray_r"].with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=0, vmax=vmax if vmax is not None else np.nanmax(canvas))
    ax.set_axis_off()


def band(
    ax: Axes,
    runs: np.ndarray,
    x: Sequence[float] | None = None,
    label: str | None = None,
    color: str | None = None,
    linestyle: str = "-",
) -> None:
    """Plot the mean of `runs` `(seeds, points)` with a band of +-1 standard deviation."""
    runs = np.atleast_2d(np.asarray(runs, dtype=float))
    x = np.arange(1, runs.shape[1] + 1) if x is None else np.asarray(x)
    mean, std = runs.mean(axis=0), runs.std(axis=0)
    (line,) = ax.plot(x, mean, label=label, color=color, linestyle=linestyle)
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)


def decision_boundary(
    ax: Axes,
    predict_proba,
    X: np.ndarray,
    y: np.ndarray,
    resolution: int = 200,
    margin: float = 0.5,
) -> None:
    """Shade the plane by the predicted probability of class 1 and draw the points.

    Args:
        ax: where to draw.
        predict_proba: maps points `(m, 2)` to the probability of class 1, `(m,)`.
        X, y: the 2-D points `(n, 2)` and their labels 0/1.
        resolution: grid points per axis.
        margin: how far the grid extends beyond the data.
    """
    (x0, y0), (x1, y1) = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(X.dtype)
    prob = np.asarray(predict_proba(grid)).reshape(gx.shape)
    cmap = mpl.colors.LinearSegmentedColormap.from_list("moons", [PALETTE[0], "white", PALETTE[1]])
    ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.6)
    ax.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1.2)
    for label, marker in ((0, "o"), (1, "s")):
        pts = X[y == label]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=14,
            marker=marker,
            color=PALETTE[label],
            edgecolors="black",
            linewidths=0.4,
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.grid(False)


# --- Dropout masks: digits, hidden units, thinned networks -----------------------------------

# Dropped pixels of a digit get a light warm tint: grey would read as faint ink.
DROPPED_PIXEL_COLOR = "#F5C09A"
# Activations of kept units: white (0) through the kept colour to a dark blue.
UNIT_CMAP = mpl.colors.LinearSegmentedColormap.from_list("units", ["white", KEPT_COLOR, "#0A2540"])


def _tile(images: np.ndarray, ncols: int, gap: int, fill: float) -> np.ndarray:
    """Place `(n, h, w)` arrays on one canvas, `ncols` per row, `gap` cells of `fill` between."""
    n, h, w = images.shape
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), fill, dtype=float)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = image
    return canvas


def masked_digits(
    ax: Axes,
    images: np.ndarray,
    keep: np.ndarray,
    ncols: int = 8,
    gap: int = 2,
    dropped_color: str = DROPPED_PIXEL_COLOR,
) -> np.ndarray:
    """Draw digits with a dropout mask: kept pixels in grey levels, dropped ones tinted.

    Args:
        ax: where to draw.
        images: `(n, h, w)` pixel values in [0, 1] (white 0 to black 1; larger values clip).
        keep: boolean mask of the same shape, True where the pixel survives.
        ncols: digits per row.
        gap: white pixels between digits.
        dropped_color: colour of every dropped pixel, ink or background alike.

    Returns:
        The RGB canvas that was drawn, `(rows, cols, 3)` floats in [0, 1].
    """
    images = np.asarray(images, dtype=float)
    keep = np.asarray(keep, dtype=bool)
    if images.ndim != 3 or keep.shape != images.shape:
        raise ValueError(
            f"need images (n, h, w) and a mask of that shape, got {images.shape} and {keep.shape}"
        )
    grey = 1.0 - _tile(np.clip(images, 0.0, 1.0), ncols, gap, fill=0.0)
    dropped = _tile(~keep, ncols, gap, fill=False).astype(bool)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    rgb[dropped] = mpl.colors.to_rgb(dropped_color)
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    return rgb


def unit_grid(
    ax: Axes,
    values: np.ndarray,
    keep: np.ndarray | None = None,
    vmax: float | None = None,
    cmap: str | mpl.colors.Colormap = UNIT_CMAP,
    dropped_color: str = DROPPED_COLOR,
) -> np.ndarray:
    """Draw a layer of units as a grid of squares, coloured by activation.

    Args:
        ax: where to draw.
        values: `(h, w)` non-negative activations, one square per unit.
        keep: boolean mask `(h, w)`, True for units that survive; None keeps all.
        vmax: the activation at the top of `cmap` (larger ones saturate); the largest value
            if None. Zero is the bottom of `cmap` (white for the default).
        cmap: colour map for the activations of surviving units.
        dropped_color: colour of every dropped unit, whatever its activation.

    Returns:
        The RGB image that was drawn, `(h, w, 3)` floats in [0, 1].
    """
    values = np.asarray(values, dtype=float)
    keep = np.ones(values.shape, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    if values.ndim != 2 or keep.shape != values.shape:
        raise ValueError(
            f"need values (h, w) and a mask of that shape, got {values.shape} and {keep.shape}"
        )
    vmax = float(values.max()) if vmax is None else float(vmax)
    level = np.clip(values / vmax, 0.0, 1.0) if vmax > 0 else np.zeros(values.shape)
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    rgb = cmap(level)[:, :, :3]
    rgb[~keep] = mpl.colors.to_rgb(dropped_color)
    h, w = values.shape
    ax.imshow(rgb, interpolation="nearest")
    # Thin white lines separate the units.
    ax.hlines(np.arange(h + 1) - 0.5, -0.5, w - 0.5, color="white", linewidth=0.8)
    ax.vlines(np.arange(w + 1) - 0.5, -0.5, h - 0.5, color="white", linewidth=0.8)
    ax.set_axis_off()
    return rgb


class NetworkArtists(NamedTuple):
    """What `network_diagram` drew: the units and the two sets of connections."""

    units: PathCollection
    kept_edges: LineCollection
    dropped_edges: LineCollection


def network_diagram(
    ax: Axes,
    sizes: Sequence[int],
    keep: Sequence[np.ndarray | None] | None = None,
    labels: Sequence[str] | None = None,
    kept_color: str = KEPT_COLOR,
    dropped_color: str = DROPPED_COLOR,
) -> NetworkArtists:
    """Draw a fully connected network with some units dropped (a "thinned" network).

    Args:
        ax: where to draw.
        sizes: units per layer, input first, e.g. `(6, 8, 8, 3)`.
        keep: one boolean mask per layer (True = unit kept), or None for a layer with no
            dropout; None keeps every unit.
        labels: a caption under each layer.
        kept_color: fill of kept units.
        dropped_color: fill of dropped units and colour of every connection that touches one.

    Returns:
        The artists: units (one marker per unit, input layer first, top to bottom) and the
        kept and dropped connections. A connection is kept only if both its ends are.
    """
    sizes = [int(n) for n in sizes]
    keep = [None] * len(sizes) if keep is None else list(keep)
    if len(keep) != len(sizes):
        raise ValueError(f"need one mask per layer: {len(sizes)} layers, {len(keep)} masks")
    keep = [
        np.ones(n, dtype=bool) if k is None else np.asarray(k, dtype=bool).reshape(-1)
        for n, k in zip(sizes, keep, strict=True)
    ]
    if any(k.size != n for n, k in zip(sizes, keep, strict=True)):
        raise ValueError(f"mask sizes {[k.size for k in keep]} do not match layers {sizes}")
    # Layer k sits at x = k; its units are spread evenly and centred on y = 0.
    positions = [
        np.column_stack([np.full(n, k), (n - 1) / 2 - np.arange(n)]) for k, n in enumerate(sizes)
    ]
    kept_segments, dropped_segments = [], []
    for k in range(len(sizes) - 1):
        for i, a in enumerate(positions[k]):
            for j, b in enumerate(positions[k + 1]):
                alive = keep[k][i] and keep[k + 1][j]
                (kept_segments if alive else dropped_segments).append([a, b])
    dropped_edges = LineCollection(dropped_segments, colors=dropped_color, linewidths=0.6, zorder=1)
    kept_edges = LineCollection(
        kept_segments, colors="#555555", linewidths=0.8, alpha=0.8, zorder=2
    )
    ax.add_collection(dropped_edges)
    ax.add_collection(kept_edges)
    xy = np.concatenate(positions)
    alive = np.concatenate(keep)
    colors = [kept_color if a else dropped_color for a in alive]
    units = ax.scatter(
        xy[:, 0], xy[:, 1], s=160, c=colors, edgecolors="#333333", linewidths=0.8, zorder=3
    )
    top = max(sizes) / 2
    if labels is not None:
        for k, text in enumerate(labels):
            ax.text(k, -top - 0.3, text, ha="center", va="top")
    ax.set_xlim(-0.4, len(sizes) - 0.6)
    ax.set_ylim(-top - (1.2 if labels is not None else 0.4), top)
    ax.set_axis_off()
    return NetworkArtists(units, kept_edges, dropped_edges)


# --- Signed images: what a unit's weights look for ------------------------------------------

# Diverging map for weights: blue negative, white zero, red positive.
SIGNED_CMAP = "RdBu_r"


def signed_grid(
    ax: Axes, images: np.ndarray, ncols: int = 8, gap: int = 2, cmap: str = SIGNED_CMAP
) -> np.ndarray:
    """Draw signed images `(n, h, w)`, e.g. a layer's weights, as tiles on one canvas.

    Each tile is divided by its own largest absolute value, so every tile uses the whole
    colour range (white is 0, the ends are -1 and +1): the pattern of a tile is visible
    whatever its size, and tiles cannot be compared by strength. Gaps are blank.

    Returns:
        The canvas that was drawn, `(rows, cols)` floats in [-1, 1], NaN in the gaps.
    """
    images = np.asarray(images, dtype=float)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"need images (n, h, w) with n >= 1, got shape {images.shape}")
    peak = np.abs(images).max(axis=(1, 2), keepdims=True)
    scaled = images / np.where(peak > 0, peak, 1.0)
    canvas = _tile(scaled, ncols, gap, fill=np.nan)
    colormap = mpl.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(canvas, cmap=colormap, vmin=-1.0, vmax=1.0)
    ax.set_axis_off()
    return canvas
