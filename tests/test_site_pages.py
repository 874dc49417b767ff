"""site/book_pages.py: the book's changes to the HTML of its pages (no build, no browser).

The browser tests (tests/site/) check the built pages as a reader gets them; these check the
rewriting functions on small inputs, including the cases a build of today's chapters may not
exercise (nested widget boxes, images of unknown size, scripts already deferred).
"""

from __future__ import annotations

import importlib.util
import json
import struct
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pages():
    # site/ is not a package (and must not shadow the standard library's `site`).
    spec = importlib.util.spec_from_file_location("book_pages", ROOT / "site" / "book_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model(name: str, **state) -> dict:
    return {"model_name": name, "state": state}


def slider_state(
    label: str, width: int, height: int, prefix: str = "", css_width: str | None = None
) -> dict:
    """A widget state with one `frame_slider`: VBox(slider, Stack(Image, Image))."""
    return {
        f"{prefix}box": model(
            "VBoxModel",
            _dom_classes=["nnscratch-slider"],
            children=[f"IPY_MODEL_{prefix}slider", f"IPY_MODEL_{prefix}stack"],
        ),
        f"{prefix}slider": model("SelectionSliderModel", description=label),
        f"{prefix}stack": model(
            "StackModel", children=[f"IPY_MODEL_{prefix}img0", f"IPY_MODEL_{prefix}img1"]
        ),
        f"{prefix}img0": model(
            "ImageModel", width=str(width), height=str(height), layout=f"IPY_MODEL_{prefix}lay"
        ),
        f"{prefix}img1": model(
            "ImageModel", width=str(width), height=str(height), layout=f"IPY_MODEL_{prefix}lay"
        ),
        f"{prefix}lay": model("LayoutModel", width=css_width, max_width="100%"),
    }


def view(model_id: str) -> str:
    text = json.dumps({"version_major": 2, "version_minor": 0, "model_id": model_id})
    return f'<script type="application/vnd.jupyter.widget-view+json">{text}</script>'


def test_a_slider_gets_a_placeholder_with_its_label_and_frame_size(pages):
    state = slider_state("Drop probability p & more", 600, 250)
    body = f"<p>before</p>{view('box')}<p>after</p>"
    out = pages.reserve_widget_space(body, state)
    assert out.startswith('<p>before</p><div class="nnscratch-reserves">')
    assert "Drop probability p &amp; more" in out  # escaped
    assert 'style="width: 600px; aspect-ratio: 600 / 250"' in out
    # The placeholder comes right before the view: the widget manager draws there.
    assert out.index("nnscratch-reserves") < out.index("widget-view+json")
    assert out.endswith(f"{view('box')}<p>after</p>")


def test_sliders_inside_other_boxes_are_found_in_drawing_order(pages):
    state = {**slider_state("first", 100, 50, "a"), **slider_state("second", 200, 80, "b")}
    state["outer"] = model("HBoxModel", children=["IPY_MODEL_abox", "IPY_MODEL_bbox"])
    found = pages.slider_placeholders(state, "outer")
    assert found == [
        {"label": "first", "width": 100, "height": 50, "css_width": None},
        {"label": "second", "width": 200, "height": 80, "css_width": None},
    ]


def test_a_slider_shown_at_a_given_width_reserves_that_width(pages):
    state = slider_state("wide", 400, 100, css_width="100%")
    out = pages.reserve_widget_space(view("box"), state)
    assert 'style="width: 100%; aspect-ratio: 400 / 100"' in out


def test_other_widgets_and_unknown_views_are_left_alone(pages):
    state = {"other": model("IntSliderModel", description="x")}
    body = (
        view("other")
        + view("missing")
        + '<script type="application/vnd.jupyter.widget-view+json">{</script>'
    )
    assert pages.reserve_widget_space(body, state) == body


def test_the_state_script_round_trips(pages):
    state_json = json.dumps({"state": slider_state("a </script> label", 1, 1)})
    script = pages.state_script("chapters/03", state_json)
    assert "widget-state+json" in script
    assert pages.read_state_script(script) == json.loads(state_json)


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(chunk[4:]))


def test_images_get_their_width_and_height(pages, tmp_path):
    (tmp_path / "a.png").write_bytes(png_header(640, 360))
    (tmp_path / "b.txt").write_text("not a picture")
    assert pages.png_size(tmp_path / "a.png") == (640, 360)
    assert pages.png_size(tmp_path / "b.txt") is None
    assert pages.png_size(tmp_path / "missing.png") is None
    sizes = {"a.png": (640, 360)}
    body = (
        '<img alt="x" src="../_images/a.png"/>'
        '<img src="../_images/a.png" width="10"/>'  # already sized: left alone
        '<img src="../_images/other.png">'
    )
    out = pages.add_image_sizes(body, sizes)
    assert out == (
        '<img alt="x" src="../_images/a.png" width="640" height="360"/>'
        '<img src="../_images/a.png" width="10"/>'
        '<img src="../_images/other.png">'
    )


def test_theme_scripts_are_dropped_or_deferred(pages):
    block = (
        '<script defer src="../_static/scripts/fontawesome.js?digest=1"></script>\n'
        '<link rel="preload" as="script" href="../_static/scripts/bootstrap.js" />\n'
        '<script src="../_static/searchtools.js"></script>\n'
        '<script defer src="../searchindex.js"></script>\n'
        '<script src="../_static/doctools.js"></script>\n'
    )
    out = pages.adjust_scripts(block)
    assert "fontawesome" not in out
    assert '<script defer src="../_static/searchtools.js"></script>' in out
    assert out.count('<script defer src="../searchindex.js"') == 1  # not deferred twice
    assert '<script src="../_static/doctools.js"></script>' in out  # untouched
    assert "bootstrap.js" in out


def test_index_page_is_titled_english_and_forwards(pages):
    html = pages.INDEX_HTML.format(
        language="en", title="Dropout from Scratch", first="Intro", target="intro.html"
    )
    assert '<html lang="en">' in html
    assert "<title>Dropout from Scratch</title>" in html
    assert 'content="0; url=intro.html"' in html and 'href="intro.html"' in html
