"""Draw the book's logo, favicon and cover figure with the package's plot style.

    python images/draw_images.py        (or: make images)

Writes, next to this script:

- `logo.svg`, `logo-dark.svg`: a small network with some units dropped, for the sidebar
  (the dark one has lighter connections, for the dark theme);
- `favicon.svg`, `favicon.ico` (16, 32 and 48 px): a 3 by 3 layer of units with a dropout
  mask, the browser tab's icon;
- `cover.png`: the landing page's figure, a full network beside the same network thinned
  by dropout at p = 0.5.

The pictures come from `nnscratch.plots` (its colours and `network_diagram`) and a seeded
mask (`nnscratch.functional.keep_mask`), so redrawing them gives the same pictures, and they
change with the book's style. Run it again after changing the style; commit what it writes.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib as mpl
import numpy as np
from PIL import Image

from nnscratch.functional import keep_mask
from nnscratch.plots import DROPPED_COLOR, KEPT_COLOR, network_diagram, new_figure, to_png

HERE = Path(__file__).resolve().parent
SEED = 2028  # keeps 3 of the 6 units of each hidden layer at p = 0.5: a typical mask
P = 0.5
SIZES = (4, 6, 6, 2)
# No creation date in the SVG, and fixed ids: the same drawing gives the same file.
SVG_OPTIONS = {"format": "svg", "metadata": {"Date": None}, "bbox_inches": "tight"}


def thinned_masks() -> list[np.ndarray | None]:
    """Masks of the two hidden layers at `P` (inputs and outputs are never dropped)."""
    rng = np.random.default_rng(SEED)
    return [None, keep_mask((SIZES[1],), P, rng), keep_mask((SIZES[2],), P, rng), None]


def draw_logo(path: Path, edge_color: str) -> None:
    fig = new_figure(2.4, 1.6)
    ax = fig.add_subplot()
    drawn = network_diagram(ax, SIZES, thinned_masks())
    drawn.kept_edges.set_color(edge_color)
    fig.patch.set_alpha(0.0)
    with mpl.rc_context({"svg.hashsalt": "dropout-from-scratch"}):
        fig.savefig(path, transparent=True, **SVG_OPTIONS)


def draw_favicon(out: Path) -> None:
    """A 3 by 3 layer of units, four of them dropped, on a white rounded square."""
    dropped = {(0, 1), (1, 0), (2, 1), (2, 2)}  # (row, column)
    fig = new_figure(1.0, 1.0)
    fig.set_layout_engine("none")  # one axes filling the figure: nothing to lay out
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set(xlim=(0, 3), ylim=(0, 3), aspect="equal")
    ax.add_patch(
        mpl.patches.FancyBboxPatch(
            (0.05, 0.05), 2.9, 2.9, boxstyle="round,pad=0,rounding_size=0.5", color="white"
        )
    )
    for row in range(3):
        for col in range(3):
            color = DROPPED_COLOR if (row, col) in dropped else KEPT_COLOR
            ax.add_patch(mpl.patches.Circle((col + 0.5, 2.5 - row), 0.36, color=color))
    with mpl.rc_context({"svg.hashsalt": "dropout-from-scratch-favicon"}):
        fig.savefig(out / "favicon.svg", transparent=True, format="svg", metadata={"Date": None})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=96, transparent=True)
    icon = Image.open(png).convert("RGBA")
    icon.save(out / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


def draw_cover(out: Path) -> None:
    """The full network and the same network thinned by one dropout mask, side by side."""
    fig = new_figure(5.2, 2.7)  # narrow enough for 10-point text to stay readable on phones
    full, thinned = fig.subplots(1, 2)
    labels = ["input", "hidden", "hidden", "output"]
    network_diagram(full, SIZES, labels=labels)
    drawn = network_diagram(thinned, SIZES, thinned_masks(), labels=labels)
    kept = sum(int(m.sum()) for m in thinned_masks() if m is not None)
    edges = len(drawn.kept_edges.get_segments())
    total = edges + len(drawn.dropped_edges.get_segments())
    full.set_title("the full network")
    thinned.set_title(
        f"thinned by dropout, p = {P}:\n{kept} of 12 hidden units, {edges} of {total} links"
    )
    (out / "cover.png").write_bytes(to_png(fig, dpi=100))


NAMES = ("logo.svg", "logo-dark.svg", "favicon.svg", "favicon.ico", "cover.png")


def draw_all(out: Path = HERE) -> None:
    """Draw every picture into `out`."""
    draw_logo(out / "logo.svg", edge_color="#555555")
    draw_logo(out / "logo-dark.svg", edge_color="#B8B8B8")
    draw_favicon(out)
    draw_cover(out)


def main() -> None:
    draw_all()
    for name in NAMES:
        print(f"{name}: {(HERE / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
