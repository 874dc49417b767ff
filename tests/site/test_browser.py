"""Browser tests of the built site: what a reader gets when they open the pages.

For every HTML page: it loads with no page error, no console message of any kind (not even a
library's warning or log line), no failed request, no id used twice in the live page (scripts
included), and no request leaving 127.0.0.1 (every request is routed through the test, which
records and blocks any other host), and weighs at most 6 MB. For every page with widgets: each
embedded widget view renders, with as many sliders as the embedded state holds, and every
slider moves by keyboard and by mouse and changes the picture it drives. Each chapter is saved
as a full-page screenshot at 1280 px in `_build/screenshots/` (test_layout.py adds 375 px).

Accessibility is in test_accessibility.py, phones and layout shift in test_layout.py.
Run with `make test` (which builds the site first) or `pytest tests/site` on a built site.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import harness
import pytest
import yaml

if not (harness.SITE / "index.html").is_file():
    pytest.fail(f"no built site in {harness.SITE}: run `make book` first", pytrace=False)

PAGES = harness.pages()
WIDGET_PAGES = [page for page in PAGES if harness.expected_widgets(harness.SITE, page)[0] > 0]
CHAPTER_PAGES = harness.chapter_pages()
# The Makefile exports TOC, the table of contents it built (_toc.yml unless told).
TOC = yaml.safe_load((harness.ROOT / os.environ.get("TOC", "_toc.yml")).read_text())
# Pages of the toc's numbered parts (the chapters; not the appendix or the back matter).
NUMBERED_PAGES = [
    f"{entry['file']}.html"
    for part in TOC.get("parts", [])
    if part.get("numbered")
    for entry in part["chapters"]
    if (harness.SITE / f"{entry['file']}.html").is_file()
]

# A hash of the image bytes each visible widget image shows, per slider container. Blob URLs
# are not enough: the image view makes a new one whenever it renders, even for the same frame.
IMAGE_HASHES_JS = """
async (box) => {
  const hashes = [];
  for (const img of box.querySelectorAll("img")) {
    try {
      const bytes = await (await fetch(img.src)).arrayBuffer();
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      hashes.push(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
    } catch (error) {
      hashes.push("unreadable"); // an image being replaced: its blob URL was just revoked
    }
  }
  return hashes.join(",");
}
"""


# Ids that more than one element of the live page carries.
REPEATED_IDS_JS = """
() => {
  const counts = {};
  for (const el of document.querySelectorAll("[id]")) counts[el.id] = (counts[el.id] || 0) + 1;
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 1));
}
"""


def visit_settled(browser, base_url: str, page_name: str, **options) -> harness.Visit:
    visit = harness.open_page(browser, base_url + page_name, **options)
    views, _ = harness.expected_widgets(harness.SITE, page_name)
    harness.wait_until_settled(visit.page, views)
    return visit


def test_the_site_has_every_page_of_the_toc(site: Path) -> None:
    files = [TOC["root"]] + [
        entry["file"]
        for part in TOC.get("parts", [{"chapters": TOC.get("chapters", [])}])
        for entry in part["chapters"]
    ]
    missing = [name for name in files if not (site / f"{name}.html").is_file()]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"


@pytest.mark.parametrize("page_name", PAGES)
def test_page_loads_cleanly_and_light(
    browser, base_url: str, page_name: str, screenshots: Path, measurements: dict
) -> None:
    visit = visit_settled(browser, base_url, page_name)
    try:
        weight, requests = harness.page_weight(visit.page)
        heaviest = harness.heaviest(visit.page)
        fetched = [name for name, _ in visit.page.evaluate(harness.WEIGHT_JS)]
        repeated = visit.page.evaluate(REPEATED_IDS_JS)
        measurements.setdefault(page_name, {}).update(bytes=weight, requests=requests)
        if page_name in CHAPTER_PAGES:
            name = Path(page_name).stem
            visit.page.screenshot(path=str(screenshots / f"{name}-1280.png"), full_page=True)
    finally:
        visit.close()
    assert not visit.external, f"requests that would leave 127.0.0.1: {visit.external}"
    assert not visit.errors, "\n".join(visit.errors)
    assert not visit.console, "console messages:\n" + "\n".join(visit.console)
    assert not repeated, f"ids used more than once in the live page (id: times): {repeated}"
    # Font Awesome once: the theme's web fonts, not its 1.5 MB script nor the widget
    # library's own copy of the fonts.
    twice = [u for u in fetched if "fontawesome.js" in u or re.search(r"html-manager/.*\.woff", u)]
    assert not twice, f"a second Font Awesome: {twice}"
    assert weight <= harness.MAX_PAGE_BYTES, (
        f"{weight / 1e6:.2f} MB fetched (at most {harness.MAX_PAGE_BYTES / 1e6:.0f} MB); "
        f"heaviest: {heaviest}"
    )


def test_index_is_a_titled_english_page_and_the_favicon_is_found(browser, base_url: str) -> None:
    visit = harness.open_page(browser, base_url + "index.html", wait_until="commit")
    try:
        visit.page.wait_for_url("**/intro.html")
        visit.page.wait_for_load_state("load")
        # Browsers ask for /favicon.ico when a page names no icon: it must be there, an icon.
        favicon = visit.page.request.get(base_url + "favicon.ico")
        icon_ok, icon_head = favicon.ok, favicon.body()[:4]
    finally:
        visit.close()
    assert not visit.errors, "\n".join(visit.errors)
    html = (harness.SITE / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "<title>Dropout from Scratch</title>" in html
    assert icon_ok and icon_head == b"\x00\x00\x01\x00", "no /favicon.ico (ICO header)"


# Every slider sits in a numbered figure with a caption ({glue:figure}), like static figures.
FIGURE_NUMBERS_JS = """
() => [...document.querySelectorAll(".nnscratch-slider")].map((slider) => {
  const figure = slider.closest("figure");
  const number = figure && figure.querySelector("figcaption .caption-number");
  return number ? number.textContent.trim() : null;
})
"""


@pytest.mark.parametrize("page_name", WIDGET_PAGES)
def test_every_widget_renders(browser, base_url: str, page_name: str, measurements) -> None:
    views, sliders = harness.expected_widgets(harness.SITE, page_name)
    visit = visit_settled(browser, base_url, page_name)
    try:
        page = visit.page
        rendered_views = page.locator(".widget-subarea > .jupyter-widgets").count()
        rendered_sliders = page.locator(".widget-subarea .widget-slider").count()
        visible_images = page.locator(".widget-subarea img:visible").count()
        broken = page.locator(".jupyter-widgets-error-widget").count()
        numbers = page.evaluate(FIGURE_NUMBERS_JS)
    finally:
        visit.close()
    measurements.setdefault(page_name, {})["sliders_in_figures"] = (
        f"{sum(n is not None for n in numbers)}/{len(numbers)}"
    )
    assert rendered_views == views, f"{rendered_views} of {views} widget views rendered"
    assert rendered_sliders == sliders, f"{rendered_sliders} of {sliders} sliders rendered"
    assert visible_images >= sliders, f"{visible_images} images visible for {sliders} sliders"
    assert broken == 0, f"{broken} widgets show the widget library's error box"
    assert all(numbers), f"sliders outside a numbered figure (glue:figure): {numbers}"


def _slider_parts(page, index: int):
    slider = page.locator(".widget-subarea .widget-slider").nth(index)
    handle = slider.locator(".noUi-handle")
    box = slider.locator("xpath=ancestor::div[contains(@class, 'widget-box')][1]")
    return slider, handle, box


def _settled_images(page, box) -> str:
    """Hashes of the images in `box` once they stay the same for a few reads."""
    deadline = time.monotonic() + 10
    previous = box.evaluate(IMAGE_HASHES_JS)
    steady = 0
    while steady < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        current = box.evaluate(IMAGE_HASHES_JS)
        steady = steady + 1 if current == previous and "unreadable" not in current else 0
        previous = current
    return previous


def _value(handle) -> float:
    return float(handle.get_attribute("aria-valuenow"))


@pytest.mark.parametrize("page_name", WIDGET_PAGES)
def test_every_slider_moves_by_keyboard_and_mouse(browser, base_url: str, page_name: str) -> None:
    _, sliders = harness.expected_widgets(harness.SITE, page_name)
    visit = visit_settled(browser, base_url, page_name)
    page = visit.page
    try:
        for index in range(sliders):
            slider, handle, box = _slider_parts(page, index)
            label = slider.locator(".widget-label").inner_text()
            where = f"slider {index} ({label!r})"
            low = float(handle.get_attribute("aria-valuemin"))
            high = float(handle.get_attribute("aria-valuemax"))
            assert high > low, f"{where} has a single value"

            # Keyboard: Home, one step right, End.
            handle.focus()
            page.keyboard.press("Home")
            first = _settled_images(page, box)
            assert _value(handle) == low, f"{where}: Home did not reach the first value"
            page.keyboard.press("ArrowRight")
            second = _settled_images(page, box)
            assert _value(handle) > low, f"{where}: ArrowRight did not move it"
            assert second != first, f"{where}: ArrowRight did not change the picture"
            page.keyboard.press("End")
            last = _settled_images(page, box)
            assert _value(handle) == high, f"{where}: End did not reach the last value"
            assert last != first, f"{where}: End did not change the picture"

            # Mouse: drag the handle to the left end of the track, then to the right end;
            # each must show the same picture as the keyboard did there.
            track = slider.locator(".noUi-base")
            for target_value, expected in ((low, first), (high, last)):
                handle.scroll_into_view_if_needed()
                handle_box, track_box = handle.bounding_box(), track.bounding_box()
                y = handle_box["y"] + handle_box["height"] / 2
                x_end = track_box["x"] + (0 if target_value == low else track_box["width"])
                page.mouse.move(handle_box["x"] + handle_box["width"] / 2, y)
                page.mouse.down()
                page.mouse.move(x_end, y, steps=12)
                page.mouse.up()
                shown = _settled_images(page, box)
                assert _value(handle) == target_value, f"{where}: dragging did not reach the end"
                assert shown == expected, f"{where}: dragging did not show the right picture"
    finally:
        visit.close()
    assert not visit.external, f"requests that would leave 127.0.0.1: {visit.external}"
    assert not visit.errors, "\n".join(visit.errors)


@pytest.mark.parametrize("page_name", [p for p in CHAPTER_PAGES if p.startswith("chapters/")])
def test_chapter_offers_its_notebook(site: Path, page_name: str) -> None:
    html = (site / page_name).read_text(encoding="utf-8")
    notebook = Path("_sources") / Path(page_name).with_suffix(".ipynb")
    assert f'href="../{notebook.as_posix()}"' in html, "no link to the chapter's .ipynb"
    cells = json.loads((site / notebook).read_text(encoding="utf-8"))["cells"]
    assert any(cell["cell_type"] == "code" for cell in cells)


@pytest.mark.parametrize("page_name", NUMBERED_PAGES)
def test_chapter_figures_and_exercises_are_numbered_by_chapter(site: Path, page_name: str) -> None:
    """Fig. 3.1, 3.2 and Exercise 3.1 in chapter 3: numbers restart with every chapter."""
    html = (site / page_name).read_text(encoding="utf-8")
    title = re.search(r'<h1><span class="section-number">(\d+)\. </span>', html)
    assert title, "the chapter's title has no number (numbered: true in _toc.yml)"
    chapter = title.group(1)
    figures = re.findall(r'<span class="caption-number">Fig\. ([\d.]+) </span>', html)
    exercises = re.findall(r'<span class="caption-number">Exercise ([\d.]+) </span>', html)
    for kind, numbers in (("figure", figures), ("exercise", exercises)):
        expected = [f"{chapter}.{k}" for k in range(1, len(numbers) + 1)]
        assert numbers == expected, f"{kind} numbers {numbers}, expected {expected}"
