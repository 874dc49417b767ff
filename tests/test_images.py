"""images/: the committed logo, favicon and cover are what images/draw_images.py draws now.

If the package's plot style or the drawing script changes, these pictures are out of date
until `make images` redraws them (and they are committed again).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

IMAGES = Path(__file__).resolve().parents[1] / "images"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("draw_images", IMAGES / "draw_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("images")
    module.draw_all(out)
    return out


@pytest.mark.parametrize("name", ["logo.svg", "logo-dark.svg", "favicon.svg"])
def test_committed_drawings_are_up_to_date(drawn: Path, name: str) -> None:
    assert (IMAGES / name).read_text() == (drawn / name).read_text(), (
        f"images/{name} differs from what images/draw_images.py draws: run `make images`"
    )


@pytest.mark.parametrize("name", ["cover.png", "favicon.ico"])
def test_committed_pictures_are_up_to_date(drawn: Path, name: str) -> None:
    committed = Image.open(io.BytesIO((IMAGES / name).read_bytes()))
    redrawn = Image.open(io.BytesIO((drawn / name).read_bytes()))
    assert committed.size == redrawn.size
    np.testing.assert_array_equal(
        np.asarray(committed.convert("RGBA")),
        np.asarray(redrawn.convert("RGBA")),
        err_msg=f"images/{name} differs from what images/draw_images.py draws: run `make images`",
    )


def test_the_cover_is_readable_on_a_phone() -> None:
    """10-point text on the cover stays at least 8 CSS px in a 343 px phone column."""
    cover = Image.open(IMAGES / "cover.png")
    cover.load()
    text_px = float(cover.text["nnscratch:min-text-px"])
    assert text_px * 343 / cover.width >= 8
