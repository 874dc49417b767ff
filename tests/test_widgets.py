"""widgets: the kernel-free slider (one PNG frame per value, linked in the browser)."""

import io

import ipywidgets as widgets
import matplotlib.image
import numpy as np
import pytest
from ipywidgets.widgets.widget import _instances
from ipywidgets.widgets.widget_link import Link
from PIL import Image

from nnscratch.plots import MIN_TEXT_KEY, new_figure, to_png
from nnscratch.widgets import (
    PALETTE_MIN_PSNR,
    SLIDER_CLASS,
    compact_frames,
    frame_slider,
    slider_over,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GRID = [round(0.1 * k, 1) for k in range(10)]


def links_from(source: widgets.Widget) -> list[Link]:
    """Every live `Link` (made by `jslink`) whose source widget is `source`."""
    return [w for w in list(_instances.values()) if isinstance(w, Link) and w.source[0] is source]


def render_line(p: float):
    """A tiny figure whose picture depends on p."""
    fig = new_figure(2.0, 1.5)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, p])
    ax.set_ylim(0, 1)
    return fig


def png(pixels: np.ndarray, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode).save(buffer, format="PNG")
    return buffer.getvalue()


def pixels(frame: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(frame))))


def fake_frames(n: int, width: int = 6, height: int = 4) -> list[bytes]:
    """n small PNGs, frame i filled with grey level 10 * i (all different)."""
    return [png(np.full((height, width, 3), 10 * i)) for i in range(n)]


def alts(values) -> list[str]:
    return [f"a line rising to {v}" for v in values]


def make(frames, values, **kwargs):
    """frame_slider with a label and alt texts unless the test gives its own."""
    kwargs.setdefault("label", "Drop probability p of the test picture")
    kwargs.setdefault("alt_texts", alts(values) if len(frames) == len(values) else alts(frames))
    return frame_slider(frames, values, **kwargs)


def test_one_frame_per_value_in_order():
    frames = fake_frames(len(GRID))
    box = make(frames, GRID)
    slider, stack = box.children
    assert isinstance(slider, widgets.SelectionSlider)
    assert isinstance(stack, widgets.Stack)
    assert len(stack.children) == len(GRID) == len(slider.options)
    for image, frame in zip(stack.children, frames, strict=True):
        assert isinstance(image, widgets.Image) and image.format == "png"
        np.testing.assert_array_equal(pixels(image.value), pixels(frame))
    assert [value for _, value in slider.options] == GRID
    # The readout, and the value a screen reader announces, name the quantity.
    assert [label for label, _ in slider.options] == [f"p = {v:.2f}" for v in GRID]


def test_label_alt_texts_and_class_are_in_the_widget_state():
    box = make(fake_frames(3), [1, 10, 100], symbol="T", fmt="{:d}", label="Number of passes T")
    slider, stack = box.children
    assert slider.description == "Number of passes T"
    assert [label for label, _ in slider.options] == ["T = 1", "T = 10", "T = 100"]
    # ipywidgets 8 has no alt text for images; the stack's titles carry it to the site.
    assert stack.titles == tuple(alts([1, 10, 100]))
    # A tooltip on an Image breaks its view in ipywidgets 8 (issue 3860): never set one.
    assert all(not image.tooltip for image in stack.children)
    assert SLIDER_CLASS in box._dom_classes


def test_missing_label_or_alt_texts_raise():
    with pytest.raises(ValueError, match="one alt text per frame"):
        make(fake_frames(3), [1, 2, 3], alt_texts=["a", "b"])
    with pytest.raises(ValueError, match="every frame"):
        make(fake_frames(2), [1, 2], alt_texts=["a", " "])
    with pytest.raises(ValueError, match="label"):
        make(fake_frames(2), [1, 2], label="")
    with pytest.raises(TypeError):
        frame_slider(fake_frames(2), [1, 2])  # label and alt_texts are required


def test_slider_index_is_jslinked_to_stack_selected_index():
    box = make(fake_frames(len(GRID)), GRID)
    slider, stack = box.children
    links = links_from(slider)
    assert len(links) == 1
    link = links[0]
    # A `Link` runs in the browser, which is what keeps the static page interactive; a
    # Python-side `traitlets.link` would leave the embedded slider dead without a kernel.
    assert type(link) is Link
    assert link.source == (slider, "index")
    assert link.target == (stack, "selected_index")


@pytest.mark.parametrize("value", [None, 0.0, 0.5, 0.9])
def test_start_value_selects_the_matching_frame(value):
    box = make(fake_frames(len(GRID)), GRID, value=value)
    slider, stack = box.children
    expected = 0 if value is None else GRID.index(value)
    assert slider.index == stack.selected_index == expected
    assert slider.value == GRID[expected]


def test_frames_get_one_size_and_declare_it():
    # bbox="tight" crops each frame to its own content: sizes can differ by a few pixels.
    frames = [png(np.full((4, 6, 3), 200)), png(np.full((5, 3, 3), 100))]
    box = make(frames, [0.1, 0.2])
    images = box.children[1].children
    assert [(image.width, image.height) for image in images] == [("6", "5"), ("6", "5")]
    first, second = (pixels(image.value) for image in images)
    assert first.shape == second.shape == (5, 6, 3)
    # Padding takes the colour of the frame's top-left pixel (its background).
    np.testing.assert_array_equal(first[:4, :6], 200)
    np.testing.assert_array_equal(first[4:], 200)
    np.testing.assert_array_equal(second[:5, :3], 100)
    np.testing.assert_array_equal(second[:, 3:], 100)


def test_images_fit_the_column_unless_a_width_is_given():
    image = make(fake_frames(2), [1, 2]).children[1].children[0]
    assert image.layout.width is None and image.layout.max_width == "100%"
    assert image.layout.height == "auto"  # keeps the declared width:height ratio
    image = make(fake_frames(2), [1, 2], width="50%").children[1].children[0]
    assert image.layout.width == "50%"


def test_compact_frames_uses_a_palette_only_when_it_looks_the_same(rng):
    def render(p):
        fig = new_figure(3.0, 2.0)
        ax = fig.add_subplot()
        ax.plot(np.linspace(0, 1, 50), rng.random(50) * p, label=f"p = {p}")
        ax.legend(fontsize=7)
        return to_png(fig, dpi=80)

    frames = [render(p) for p in (0.2, 0.8)]
    compact, size = compact_frames(frames)
    for before, after in zip(frames, compact, strict=True):
        picture = Image.open(io.BytesIO(after))
        assert picture.mode == "P" and picture.size == size
        assert len(after) < len(before)
        a = np.asarray(Image.open(io.BytesIO(before)).convert("RGB"), dtype=float)
        b = np.asarray(picture.convert("RGB"), dtype=float)
        assert 10 * np.log10(255**2 / np.mean((a - b) ** 2)) >= PALETTE_MIN_PSNR
        # The smallest text size recorded by to_png survives: 7 points at 80 dpi.
        assert float(picture.text[MIN_TEXT_KEY]) == pytest.approx(7 * 80 / 72, abs=0.01)
    # Smooth noise in 3 x 256 levels does not fit 256 colours: it stays as it was drawn.
    noise = rng.integers(0, 256, size=(32, 32, 3))
    (kept,), _ = compact_frames([png(noise)])
    np.testing.assert_array_equal(pixels(kept), noise)


def test_transparent_frames_keep_their_alpha():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[1:3, 1:3] = (0, 114, 178, 255)
    (frame,), _ = compact_frames([png(rgba, "RGBA")])
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(frame)).convert("RGBA")), rgba)


def test_a_frame_that_is_not_a_png_raises():
    with pytest.raises(ValueError, match=r"frames\[1\] is not a PNG"):
        make([fake_frames(1)[0], PNG_SIGNATURE + b"junk"], [1, 2])


def test_mismatched_frames_and_values_raise():
    with pytest.raises(ValueError, match="one frame per value"):
        make(fake_frames(3), GRID)
    with pytest.raises(ValueError, match="one frame per value"):
        make(fake_frames(len(GRID) + 1), GRID)


def test_empty_and_ambiguous_input_raise():
    with pytest.raises(ValueError, match="empty"):
        make([], [])
    # 0.11 and 0.114 both read "0.11": the slider could not tell them apart.
    with pytest.raises(ValueError, match="distinct labels"):
        make(fake_frames(2), [0.11, 0.114])
    with pytest.raises(ValueError, match="not one of"):
        make(fake_frames(len(GRID)), GRID, value=0.55)


def test_slider_over_renders_once_per_value_into_valid_pngs():
    seen = []

    def render(p):
        seen.append(p)
        return render_line(p)

    box = slider_over(render, GRID, label="Height of the line", alt=lambda p: f"up to {p}", dpi=50)
    slider, stack = box.children
    assert seen == GRID  # once per value, in slider order
    frames = [bytes(image.value) for image in stack.children]
    assert len(frames) == len(GRID)
    for frame in frames:
        assert frame.startswith(PNG_SIGNATURE)
        decoded = matplotlib.image.imread(io.BytesIO(frame), format="png")
        # 2.0 x 1.5 inches at 50 dpi, trimmed by bbox="tight": non-empty and about that size.
        assert decoded.ndim == 3 and decoded.shape[2] in (3, 4)
        assert 30 <= decoded.shape[0] <= 80 and 50 <= decoded.shape[1] <= 110
    # The pictures differ with p, so each frame really belongs to its value.
    decoded = [matplotlib.image.imread(io.BytesIO(f), format="png") for f in frames]
    for a, b in zip(decoded, decoded[1:], strict=False):
        assert a.shape != b.shape or not np.array_equal(a, b)
    assert links_from(slider)[0].target == (stack, "selected_index")


def test_to_png_round_trips_through_a_decoder():
    frame = to_png(render_line(0.5), dpi=40)
    assert frame.startswith(PNG_SIGNATURE)
    assert matplotlib.image.imread(io.BytesIO(frame), format="png").size > 0
