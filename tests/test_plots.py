"""plots: the mask pictures (digits, hidden units) and the thinned-network diagram."""

import io

import matplotlib as mpl
import matplotlib.image
import numpy as np
import pytest

from nnscratch.plots import (
    DROPPED_COLOR,
    DROPPED_PIXEL_COLOR,
    KEPT_COLOR,
    MIN_TEXT_KEY,
    UNIT_CMAP,
    masked_digits,
    network_diagram,
    new_figure,
    signed_grid,
    to_png,
    unit_grid,
)


def rgb(color: str) -> np.ndarray:
    return np.asarray(mpl.colors.to_rgb(color))


def is_color(image: np.ndarray, color: str) -> np.ndarray:
    """Boolean map of the pixels of an `(h, w, 3)` image that have exactly `color`."""
    return np.all(np.isclose(image, rgb(color)), axis=-1)


def new_axes():
    return new_figure(3, 3).add_subplot()


# --- masked_digits ---------------------------------------------------------------------------


def test_masked_digits_canvas_shape_and_colours(rng):
    images = rng.random((5, 4, 3))
    keep = rng.random(images.shape) < 0.6
    ax = new_axes()
    canvas = masked_digits(ax, images, keep, ncols=3, gap=1)
    # 2 rows of 3 tiles of 4x3 pixels with 1-pixel gaps.
    assert canvas.shape == (2 * 4 + 1, 3 * 3 + 2, 3)
    tiles = [canvas[r * 5 : r * 5 + 4, c * 4 : c * 4 + 3] for r in range(2) for c in range(3)]
    for tile, image, mask in zip(tiles, images, keep, strict=False):
        # Dropped pixels, whatever their value, carry the dropped colour ...
        assert np.all(is_color(tile, DROPPED_PIXEL_COLOR)[~mask])
        # ... and kept ones are grey levels, white for 0 and black for 1.
        np.testing.assert_allclose(tile[mask], np.repeat(1 - image[mask][:, None], 3, axis=1))
    # The sixth tile is empty and the gaps are white.
    assert np.all(tiles[5] == 1.0)
    assert np.all(canvas[4, :] == 1.0) and np.all(canvas[:, 3] == 1.0)
    # What was returned is what was drawn.
    np.testing.assert_allclose(ax.images[0].get_array(), canvas)


def test_masked_digits_all_kept_has_no_dropped_colour_and_clips(rng):
    images = rng.random((2, 6, 6)) * 3  # values above 1 (scaled survivors) clip to black
    canvas = masked_digits(new_axes(), images, np.ones(images.shape, dtype=bool), ncols=2)
    assert not is_color(canvas, DROPPED_PIXEL_COLOR).any()
    assert canvas.min() >= 0.0 and canvas.max() <= 1.0


def test_masked_digits_rejects_a_mask_of_another_shape(rng):
    with pytest.raises(ValueError, match="mask"):
        masked_digits(new_axes(), rng.random((2, 4, 4)), np.ones((2, 4, 5), dtype=bool))


# --- unit_grid -------------------------------------------------------------------------------


def test_unit_grid_greys_out_exactly_the_dropped_units(rng):
    values = rng.random((16, 16)) + 0.1
    keep = rng.random((16, 16)) < 0.5
    ax = new_axes()
    image = unit_grid(ax, values, keep, vmax=2.0)
    assert image.shape == (16, 16, 3)
    np.testing.assert_array_equal(is_color(image, DROPPED_COLOR), ~keep)
    np.testing.assert_allclose(ax.images[0].get_array(), image)


def test_unit_grid_colour_follows_activation(rng):
    values = np.array([[0.0, 0.5, 1.0, 2.0, 5.0]])
    image = unit_grid(new_axes(), values, vmax=2.0)
    np.testing.assert_allclose(image[0, 0], [1.0, 1.0, 1.0])  # zero is white
    np.testing.assert_allclose(image[0, 3], UNIT_CMAP(1.0)[:3])  # vmax is the top colour
    np.testing.assert_allclose(image[0, 4], image[0, 3])  # above vmax saturates
    luminance = image[0] @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luminance[:4]) < 0)  # stronger activation, darker square
    # Default vmax is the largest value, and keep=None drops nothing.
    default = unit_grid(new_axes(), values)
    np.testing.assert_allclose(default[0, 4], UNIT_CMAP(1.0)[:3])
    assert not is_color(default, DROPPED_COLOR).any()


def test_unit_grid_rejects_bad_shapes(rng):
    with pytest.raises(ValueError):
        unit_grid(new_axes(), rng.random((4, 4)), np.ones((4, 5), dtype=bool))
    with pytest.raises(ValueError):
        unit_grid(new_axes(), rng.random(16))


# --- network_diagram -------------------------------------------------------------------------


def test_network_diagram_draws_every_unit_in_its_colour():
    sizes = (6, 8, 8, 3)
    hidden1 = np.array([1, 0, 1, 1, 0, 0, 1, 1], dtype=bool)
    hidden2 = np.array([0, 0, 1, 0, 1, 1, 0, 1], dtype=bool)
    drawn = network_diagram(new_axes(), sizes, [None, hidden1, hidden2, None])
    faces = drawn.units.get_facecolors()[:, :3]
    assert len(faces) == sum(sizes)
    alive = np.concatenate([np.ones(6, bool), hidden1, hidden2, np.ones(3, bool)])
    np.testing.assert_array_equal(is_color(faces, DROPPED_COLOR), ~alive)
    np.testing.assert_array_equal(is_color(faces, KEPT_COLOR), alive)


def test_network_diagram_keeps_only_edges_between_kept_units():
    sizes = (6, 8, 8, 3)
    hidden1 = np.array([1, 0, 1, 1, 0, 0, 1, 1], dtype=bool)
    hidden2 = np.array([0, 0, 1, 0, 1, 1, 0, 1], dtype=bool)
    drawn = network_diagram(new_axes(), sizes, [None, hidden1, hidden2, None])
    kept = drawn.kept_edges.get_segments()
    dropped = drawn.dropped_edges.get_segments()
    expected = 6 * hidden1.sum() + hidden1.sum() * hidden2.sum() + hidden2.sum() * 3
    assert len(kept) == expected
    assert len(kept) + len(dropped) == 6 * 8 + 8 * 8 + 8 * 3
    # Every kept edge joins two kept units; every dropped edge touches a dropped one.
    offsets = drawn.units.get_offsets()
    alive = np.concatenate([np.ones(6, bool), hidden1, hidden2, np.ones(3, bool)])

    def unit_at(point):
        return int(np.argmin(np.linalg.norm(offsets - point, axis=1)))

    for a, b in kept:
        assert alive[unit_at(a)] and alive[unit_at(b)]
    for a, b in dropped:
        assert not (alive[unit_at(a)] and alive[unit_at(b)])
    assert np.allclose(drawn.dropped_edges.get_colors()[0][:3], rgb(DROPPED_COLOR))


def test_network_diagram_without_masks_keeps_everything():
    drawn = network_diagram(new_axes(), (2, 3, 1), labels=["in", "hidden", "out"])
    assert len(drawn.kept_edges.get_segments()) == 2 * 3 + 3 * 1
    assert len(drawn.dropped_edges.get_segments()) == 0
    assert not is_color(drawn.units.get_facecolors()[:, :3], DROPPED_COLOR).any()


def test_network_diagram_rejects_masks_that_do_not_fit():
    with pytest.raises(ValueError, match="one mask per layer"):
        network_diagram(new_axes(), (2, 3, 1), [None, None])
    with pytest.raises(ValueError, match="do not match"):
        network_diagram(new_axes(), (2, 3, 1), [None, np.ones(4, bool), None])


# --- signed_grid -----------------------------------------------------------------------------


def test_signed_grid_scales_each_tile_to_its_own_peak(rng):
    images = rng.standard_normal((5, 4, 3)) * np.array([1, 10, 100, 0.1, 1])[:, None, None]
    images[4] = 0.0  # an all-zero tile stays zero, not NaN
    canvas = signed_grid(new_axes(), images, ncols=3, gap=1)
    assert canvas.shape == (2 * 4 + 1, 3 * 3 + 2)
    for i in range(5):
        r, c = divmod(i, 3)
        tile = canvas[r * 5 : r * 5 + 4, c * 4 : c * 4 + 3]
        peak = np.abs(images[i]).max()
        expected = images[i] / peak if peak else images[i]
        np.testing.assert_allclose(tile, expected)
    assert np.isnan(canvas[4]).all() and np.isnan(canvas[:, 3]).all()  # the gaps
    assert np.isnan(canvas[5:, 8:]).all()  # the missing sixth tile


def test_signed_grid_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        signed_grid(new_axes(), np.zeros((4, 4)))


# --- to_png: the smallest text size, for the site's phone checks ----------------------------


def png_text(png: bytes) -> dict[str, str]:
    from PIL import Image

    picture = Image.open(io.BytesIO(png))
    picture.load()
    return dict(picture.text)


def test_to_png_records_the_smallest_visible_text_in_pixels():
    fig = new_figure(3, 2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_title("title", fontsize=12)
    ax.legend(fontsize=7)
    ax.text(0.5, 0.5, "hidden", fontsize=4, visible=False)  # not drawn: does not count
    text = png_text(to_png(fig, dpi=90))
    assert float(text[MIN_TEXT_KEY]) == pytest.approx(7 * 90 / 72, abs=0.01)


def test_to_png_counts_tick_labels_and_skips_axes_turned_off():
    fig = new_figure(3, 2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=6)
    assert float(png_text(to_png(fig, dpi=100))[MIN_TEXT_KEY]) == pytest.approx(600 / 72, abs=0.01)
    ax.set_axis_off()  # ticks and their labels are not drawn any more
    ax.set_title("only this", fontsize=11)
    assert float(png_text(to_png(fig, dpi=100))[MIN_TEXT_KEY]) == pytest.approx(1100 / 72, abs=0.01)


def test_to_png_says_none_for_a_figure_without_text():
    fig = new_figure(2, 2)
    ax = fig.add_subplot()
    ax.imshow(np.eye(4))
    ax.set_axis_off()
    png = to_png(fig, dpi=50)
    assert png_text(png)[MIN_TEXT_KEY] == "none"
    # The chunk sits in a valid PNG: it still decodes to the picture (2 x 2 inches at 50 dpi,
    # plus the small margin of bbox="tight").
    height, width = mpl.image.imread(io.BytesIO(png), format="png").shape[:2]
    assert 100 <= height <= 110 and 100 <= width <= 110
