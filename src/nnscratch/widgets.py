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
  numbers that drew the frame.

ipywidgets 8 has no alt text for an `Image`, and its `tooltip` breaks the image's view
(ipywidgets issue 3860), so the alt texts travel as the `Stack`'s `titles`, which its view
ignores. On the website, the loader script (site/static/offline-widgets.js) reads the
embedded widget state and gives the handle its name (`aria-label`) and spoken value
(`aria-valuetext`), and each shown frame its `alt`.

Frames are made the same size (so the figure does not jump as the slider moves), and
stored as 256-colour PNGs when that looks the same (a page carries every frame of every
slider). Each `Image` declares its size, so the site can reserve the figure's height
before the widgets are drawn.

In a chapter, glue the slider and place it with a numbered, captioned figure:

    glue("slider-digit-masks", slider_over(render, P_GRID, label=..., alt=...), display=False)

    ```{glue:figure} slider-digit-masks
    :name: slider-digit-masks

    What the slider shows and what to notice.
    ```
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np
from PIL import Image, PngImagePlugin

# The class the site's loader script and the browser tests look for.
SLIDER_CLASS = "nnscratch-slider"
# A palette frame is kept only if it stays this close to the original (peak signal-to-noise
# ratio in dB; 40 dB and above is not visible on figures like the book's).
PALETTE_MIN_PSNR = 40.0


def frame_slider(
    frames: Sequence[bytes],
    values: Sequence[float],
    *,
    label: str,
    alt_texts: Sequence[str],
    symbol: str = "p",
    fmt: str = "{:.2f}",
    value: float | None = None,
    width: str | None = None,
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
        width: CSS width of the images; None shows them at the size they were drawn,
            shrunk to fit a narrower column.

    Returns:
        `VBox([slider, stack])` with the CSS class `SLIDER_CLASS`; the slider is a
        `SelectionSlider` whose `index` is linked in the browser to the `Stack`'s
        `selected_index`; the stack's `titles` are the alt texts.

    Raises:
        ValueError: mismatched or empty frames, values or alt texts; a frame that is not a
            PNG; an empty label; values whose readouts coincide; a start value not in
            `values`.
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
    frames, (frame_width, frame_height) = compact_frames(frames)
    layout = widgets.Layout(width=width, max_width="100%", height="auto")
    images = [
        widgets.Image(
            value=frame,
            format="png",
            width=str(frame_width),
            height=str(frame_height),
            layout=layout,
        )
        for frame in frames
    ]
    stack = widgets.Stack(images, selected_index=start, titles=[str(t) for t in alt_texts])
    slider = widgets.SelectionSlider(
        options=list(zip(labels, values, strict=True)),
        index=start,
        description=label,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="100%"),
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
    width: str | None = None,
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


def compact_frames(frames: Sequence[bytes]) -> tuple[list[bytes], tuple[int, int]]:
    """The frames as PNGs of one size, in 256 colours where that looks the same.

    Smaller frames are padded on the right and at the bottom with the colour of their
    top-left pixel (the figure's background). A frame becomes a palette PNG when that is
    smaller and stays within `PALETTE_MIN_PSNR` of the original; PNG text chunks (such as
    the smallest text size that `plots.to_png` records) are kept.

    Args:
        frames: PNG bytes.

    Returns:
        The new PNG bytes and their common `(width, height)` in pixels.
    """
    pictures = []
    for i, frame in enumerate(frames):
        try:
            picture = Image.open(io.BytesIO(bytes(frame)), formats=["PNG"])
            picture.load()
        except (OSError, SyntaxError) as error:
            raise ValueError(f"frames[{i}] is not a PNG image: {error}") from error
        pictures.append(picture)
    width = max(p.width for p in pictures)
    height = max(p.height for p in pictures)
    compact = []
    for picture in pictures:
        text = {k: v for k, v in getattr(picture, "text", {}).items() if isinstance(v, str)}
        rgba = picture.convert("RGBA")
        # matplotlib writes RGBA even for an opaque figure: keep alpha only if it is used.
        opaque = rgba.getchannel("A").getextrema()[0] == 255
        rgb = rgba.convert("RGB") if opaque else rgba
        mode = rgb.mode
        if rgb.size != (width, height):
            canvas = Image.new(mode, (width, height), rgb.getpixel((0, 0)))
            canvas.paste(rgb, (0, 0))
            rgb = canvas
        compact.append(_smallest_png(rgb, text))
    return compact, (width, height)


def _smallest_png(picture: Image.Image, text: dict[str, str]) -> bytes:
    """`picture` as a PNG with `text` chunks: a palette one if smaller and faithful."""
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    candidates = [_png(picture, info)]
    # Median cut keeps the picture's own colours; FASTOCTREE is Pillow's only RGBA method.
    method = Image.Quantize.FASTOCTREE if picture.mode == "RGBA" else Image.Quantize.MEDIANCUT
    palette = picture.quantize(colors=256, method=method, dither=Image.Dither.NONE)
    if _psnr(picture, palette.convert(picture.mode)) >= PALETTE_MIN_PSNR:
        candidates.append(_png(palette, info))
    return min(candidates, key=len)


def _png(picture: Image.Image, info: PngImagePlugin.PngInfo) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()


def _psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of `b` against `a`, in dB (infinite if identical)."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
