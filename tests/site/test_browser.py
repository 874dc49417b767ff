"""Browser tests of the built site: what a reader gets when they open the pages.

For every HTML page: it loads with no page error, no console error, no failed request, and no
request leaving 127.0.0.1 (every request is routed through the test, which records and blocks
any other host). For every page with widgets: each embedded widget view renders, with as many
sliders as the embedded state holds, and every slider moves by keyboard and by mouse and
changes the picture it drives. Each chapter is also saved as a full-page screenshot in
`_build/screenshots/`, and the time until the widgets appear and the bytes each page
transfers are printed at the end.

Run with `make test` (which builds the site first) or `pytest tests/site` on a built site.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
if not (SITE / "index.html").is_file():
    pytest.fail(f"no built site in {SITE}: run `make book` first", pytrace=False)

WIDGET_TIMEOUT_MS = 60_000
STATE_RE = re.compile(
    r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.DOTALL
)
VIEW_RE = re.compile(
    r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', re.DOTALL
)
REFERENCE_RE = re.compile(r"IPY_MODEL_([0-9a-f]+)")

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


def _pages() -> list[str]:
    return sorted(
        path.relative_to(SITE).as_posix()
        for path in SITE.rglob("*.html")
        if path.relative_to(SITE).parts[0] not in ("_static", "_sources", "_images")
    )


def _expected_widgets(page: str) -> tuple[int, int]:
    """(embedded widget views, slider models reachable from them), from the page's HTML."""
    html = (SITE / page).read_text(encoding="utf-8")
    views = [json.loads(text)["model_id"] for text in VIEW_RE.findall(html)]
    models: dict[str, dict] = {}
    for text in STATE_RE.findall(html):
        models.update(json.loads(text)["state"])
    seen: set[str] = set()
    todo = list(views)
    while todo:
        model_id = todo.pop()
        if model_id in seen or model_id not in models:
            continue
        seen.add(model_id)
        todo.extend(REFERENCE_RE.findall(json.dumps(models[model_id]["state"])))
    sliders = sum(models[m]["model_name"].endswith("SliderModel") for m in seen)
    return len(views), sliders


PAGES = _pages()
WIDGET_PAGES = [page for page in PAGES if _expected_widgets(page)[0] > 0]
CHAPTER_PAGES = [page for page in PAGES if page.startswith("chapters/") or page == "intro.html"]


@dataclass
class Visit:
    """What happened while a page loaded."""

    page: object
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    widgets_s: float | None = None


def _visit(browser, base_url: str, page_name: str):
    """Open `page_name` in a fresh context, recording errors and blocking foreign requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    visit = Visit(page)
    host = urlsplit(base_url).netloc

    def route(route):
        url = route.request.url
        # blob: and data: URLs (the widget images) are made in the page, not fetched.
        if urlsplit(url).netloc == host or url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            visit.external.append(url)
            route.abort()

    def on_console(message):
        if message.type == "error":
            visit.errors.append(f"console error: {message.text} ({message.location.get('url')})")

    def on_response(response):
        if response.status >= 400:
            visit.errors.append(f"HTTP {response.status}: {response.url}")

    context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: visit.errors.append(f"request failed: {r.url}"))
    page.on("response", on_response)

    start = time.perf_counter()
    page.goto(base_url + page_name, wait_until="load")
    views, _ = _expected_widgets(page_name)
    if views:
        page.wait_for_function(
            "(n) => document.querySelectorAll('.widget-subarea > .jupyter-widgets').length >= n",
            arg=views,
            timeout=WIDGET_TIMEOUT_MS,
        )
        visit.widgets_s = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    return context, visit


def _transferred_bytes(page) -> tuple[int, int]:
    """Bytes and number of requests of everything the page fetched over HTTP."""
    total, count = 0, 0
    for entry in page.evaluate(
        "performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))"
        ".map(e => [e.name, e.transferSize, e.encodedBodySize])"
    ):
        name, transfer, body = entry
        if name.startswith("http"):
            total += max(transfer, body)
            count += 1
    return total, count


def test_the_site_has_every_page_of_the_toc(site: Path) -> None:
    # The Makefile exports TOC, the table of contents it built (_toc.yml unless told).
    toc = yaml.safe_load((ROOT / os.environ.get("TOC", "_toc.yml")).read_text())
    files = [toc["root"]] + [
        entry["file"]
        for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}])
        for entry in part["chapters"]
    ]
    missing = [name for name in files if not (site / f"{name}.html").is_file()]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"


@pytest.mark.parametrize("page_name", PAGES)
def test_page_loads_cleanly(
    browser, base_url: str, page_name: str, screenshots: Path, measurements: dict
) -> None:
    context, visit = _visit(browser, base_url, page_name)
    try:
        weight, requests = _transferred_bytes(visit.page)
        measurements[page_name] = {"bytes": weight, "requests": requests}
        if visit.widgets_s is not None:
            measurements[page_name].update(
                widgets_s=visit.widgets_s, views=_expected_widgets(page_name)[0]
            )
        if page_name in CHAPTER_PAGES:
            name = Path(page_name).with_suffix(".png").name
            visit.page.screenshot(path=str(screenshots / name), full_page=True)
    finally:
        context.close()
    assert not visit.external, f"requests that would leave 127.0.0.1: {visit.external}"
    assert not visit.errors, "\n".join(visit.errors)


@pytest.mark.parametrize("page_name", WIDGET_PAGES)
def test_every_widget_renders(browser, base_url: str, page_name: str) -> None:
    views, sliders = _expected_widgets(page_name)
    context, visit = _visit(browser, base_url, page_name)
    try:
        rendered_views = visit.page.locator(".widget-subarea > .jupyter-widgets").count()
        rendered_sliders = visit.page.locator(".widget-subarea .widget-slider").count()
        visible_images = visit.page.locator(".widget-subarea img:visible").count()
    finally:
        context.close()
    assert rendered_views == views, f"{rendered_views} of {views} widget views rendered"
    assert rendered_sliders == sliders, f"{rendered_sliders} of {sliders} sliders rendered"
    assert visible_images >= sliders, f"{visible_images} images visible for {sliders} sliders"


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
    _, sliders = _expected_widgets(page_name)
    context, visit = _visit(browser, base_url, page_name)
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
        context.close()
    assert not visit.external, f"requests that would leave 127.0.0.1: {visit.external}"
    assert not visit.errors, "\n".join(visit.errors)


@pytest.mark.parametrize("page_name", [p for p in CHAPTER_PAGES if p.startswith("chapters/")])
def test_chapter_offers_its_notebook(site: Path, page_name: str) -> None:
    html = (site / page_name).read_text(encoding="utf-8")
    notebook = Path("_sources") / Path(page_name).with_suffix(".ipynb")
    assert f'href="../{notebook.as_posix()}"' in html, "no link to the chapter's .ipynb"
    cells = json.loads((site / notebook).read_text(encoding="utf-8"))["cells"]
    assert any(cell["cell_type"] == "code" for cell in cells)
