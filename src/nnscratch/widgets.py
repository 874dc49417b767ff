"""Sliders that work on the static website, with no Python kernel behind them.

Every frame is computed ahead of time (one PNG per slider value). The slider and a `Stack`
of images are tied together with `jslink`, a link that runs in the browser: when the page is
built, the widget state (frames included) is embedded in the HTML, and moving the slider
switches the visible image without asking Python for anything. In a live notebook the same
widget behaves identically.

A slider is a figure, and every reader must be able to use it:
- `label` names the slider ("Drop probability p of the digit masks"): it is the handle's
  accessible name, so it must say what this slider changes, and be unique on its page;
- each option reads "p = 0.5" (`symbol` and the formatted value), which is both the visible
  readout and the value a screen reader announces;
- each frame carries its own alt text (`alt_texts`), written by the chapter from the same
  numbers that drew the frame; it is the image's `tooltip` (its `title`), which the site's
  loader script also turns into the `alt` attribute.

In a chapter, glue the slider and place it with a numbered, captioned figure:

    glue("slider-digit-masks", slider_over(render, P_GRID, label=..., alt=...), display=False)

    ```{glue:figure} slider-digit-masks
    :name: slider-digit-masks

    What the slider shows and what to notice.
    ```
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets

# The class the site's loader script and the browser tests look for.
SLIDER_CLASS = "nnscratch-slider"


def frame_slider(
    frames: Sequence[bytes],
    values: Sequence[float],
    *,
    label: str,
    alt_texts: Sequence[str],
    symbol: str = "p",
    fmt: str = "{:.2f}",
    value: float | None = None,
    width: str = "100%",
) -> widgets.VBox:
    """A slider over `values` that shows `frames[i]` when the slider is at `values[i]`.

    Args:
        frames: PNG bytes, one per value (e.g. from `plots.to_png`).
        values: the grid of slider values, e.g. dropout rates `[0.0, 0.1, ..., 0.9]`. An
            uneven grid sits on evenly spaced stops: say so in the caption.
        label: what the slider changes, in plain words; its accessible name (plain text:
            MathJax does not read `$` here).
        alt_texts: one description per frame, saying what that frame shows.
        symbol: the quantity's name in the readout, "p" gives "p = 0.50".
        fmt: how each value is written in the readout.
        value: the starting value (the first one if None); must be in `values`.
        width: CSS width of the images.

    Returns:
        `VBox([slider, stack])` with the CSS class `SLIDER_CLASS`; the slider is a
        `SelectionSlider` whose `index` is linked in the browser to the `Stack`'s
        `selected_index`.
    """
    if len(frames) != len(values):
        raise ValueError(
            f"need one frame per value: got {len(frames)} frames, {len(values)} values"
        )
    if not frames:
        raise ValueError("frames is empty")
    if len(alt_texts) != len(frames):
        raise ValueError(
            f"need one alt text per frame: got {len(alt_texts)} alt texts, {len(frames)} frames"
        )
    empty = [i for i, text in enumerate(alt_texts) if not str(text).strip()]
    if empty:
        raise ValueError(f"alt_texts must describe every frame; empty at positions {empty}")
    if not label.strip():
        raise ValueError("label must name what the slider changes, got an empty string")
    labels = [f"{symbol} = {fmt.format(v)}" for v in values]
    if len(set(labels)) != len(labels):
        raise ValueError(f"values must have distinct labels with fmt {fmt!r}, got {labels}")
    if value is not None and value not in list(values):
        raise ValueError(f"value {value!r} is not one of the slider's values {list(values)}")
    start = 0 if value is None else list(values).index(value)
    images = [
        widgets.Image(
            value=frame, format="png", tooltip=str(alt), layout=widgets.Layout(width=width)
        )
        for frame, alt in zip(frames, alt_texts, strict=True)
    ]
    stack = widgets.Stack(images, selected_index=start)
    slider = widgets.SelectionSlider(
        options=list(zip(labels, values, strict=True)),
        index=start,
        description=label,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="min(100%, 36rem)"),
    )
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    box = widgets.VBox([slider, stack])
    box.add_class(SLIDER_CLASS)
    return box


def slider_over(
    render: Callable,
    values: Sequence[float],
    *,
    label: str,
    alt: Callable[[float], str],
    symbol: str = "p",
    fmt: str = "{:.2f}",
    value: float | None = None,
    dpi: int = 90,
    width: str = "100%",
) -> widgets.VBox:
    """Call `render(v) -> matplotlib Figure` for each value and wrap the frames in a slider.

    The usual way to build a chapter's slider: one function draws the picture for one value,
    one function writes its alt text (from the same numbers), and this turns them into a
    kernel-free slider over the grid. The other arguments are `frame_slider`'s.
    """
    from .plots import to_png

    frames = [to_png(render(v), dpi=dpi) for v in values]
    return frame_slider(
        frames,
        values,
        label=label,
        alt_texts=[alt(v) for v in values],
        symbol=symbol,
        fmt=fmt,
        value=value,
        width=width,
    )
