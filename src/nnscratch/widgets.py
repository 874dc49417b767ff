"""Sliders that work on the static website, with no Python kernel behind them.

Every frame is computed ahead of time (one PNG per slider value). The slider and a `Stack`
of images are tied together with `jslink`, a link that runs in the browser: when the page is
built, the widget state (frames included) is embedded in the HTML, and moving the slider
switches the visible image without asking Python for anything. In a live notebook the same
widget behaves identically.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets


def frame_slider(
    frames: Sequence[bytes],
    values: Sequence[float],
    description: str = "drop probability p",
    value: float | None = None,
    fmt: str = "{:.2f}",
    width: str = "100%",
) -> widgets.VBox:
    """A slider over `values` that shows `frames[i]` when the slider is at `values[i]`.

    Args:
        frames: PNG bytes, one per value (e.g. from `plots.to_png`).
        values: the grid of slider values, e.g. dropout rates `[0.0, 0.1, ..., 0.9]`.
        description: the slider's label (plain text: MathJax does not read `$` here).
        value: the starting value (the first one if None); must be in `values`.
        fmt: how each value is written in the slider's readout.
        width: CSS width of the images.

    Returns:
        `VBox([slider, stack])`; the slider is a `SelectionSlider` whose `index` is linked
        in the browser to the `Stack`'s `selected_index`.
    """
    if len(frames) != len(values):
        raise ValueError(
            f"need one frame per value: got {len(frames)} frames, {len(values)} values"
        )
    if not frames:
        raise ValueError("frames is empty")
    labels = [fmt.format(v) for v in values]
    if len(set(labels)) != len(labels):
        raise ValueError(f"values must have distinct labels with fmt {fmt!r}, got {labels}")
    start = 0 if value is None else list(values).index(value)
    images = [
        widgets.Image(value=frame, format="png", layout=widgets.Layout(width=width))
        for frame in frames
    ]
    stack = widgets.Stack(images, selected_index=start)
    slider = widgets.SelectionSlider(
        options=list(zip(labels, values, strict=True)),
        index=start,
        description=description,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="min(100%, 32rem)"),
    )
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])


def slider_over(
    render,
    values: Sequence[float],
    description: str = "drop probability p",
    value: float | None = None,
    fmt: str = "{:.2f}",
    dpi: int = 90,
    width: str = "100%",
) -> widgets.VBox:
    """Call `render(v) -> matplotlib Figure` for each value and wrap the frames in a slider.

    The usual way to build a chapter's slider: write one function that draws the picture for
    one dropout rate, and let this turn it into a kernel-free slider over the grid.
    """
    from .plots import to_png

    frames = [to_png(render(v), dpi=dpi) for v in values]
    return frame_slider(frames, values, description=description, value=value, fmt=fmt, width=width)
