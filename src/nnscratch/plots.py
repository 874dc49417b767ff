"""Matplotlib helpers: one visual style for the whole book, and the figures it reuses.

Importing this module applies the book's style (`BOOK_STYLE`) once, so chapters never edit
`rcParams` themselves. Helpers that build widget frames use `new_figure()`, a bare
`matplotlib.figure.Figure` with the Agg canvas, so no GUI backend or pyplot state is
involved, and `to_png()` turns it into bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

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


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render `fig` to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


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
