"""What the reader sees, from rendered pixels and real taps, in headless Chromium.

- Slider track (filled and empty parts), handle border and focus ring: 3:1 or more against
  the page around them (WCAG 1.4.11), measured on a screenshot of the slider, in light and
  dark mode. Computed styles are not enough: ipywidgets paints its own track box over the
  book's track colour, which the style of the track element does not show.
- Display equations too wide for a phone's column scroll in their box and show it: with the
  equation itself hidden, the box's edge paints a visible cue (a scroll shadow).
- Tapping a "Solution to Exercise N" bar on a phone opens the solution and stays on the page
  (the bar holds a link to the exercise, which a tap must not follow).
"""

from __future__ import annotations

import io

import harness
import pytest
from PIL import Image

PAGES = harness.pages()
SLIDER_PAGES = [page for page in PAGES if harness.book_sliders(harness.SITE, page)]
MIN_CONTRAST = 3.0


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour (0-255 channels)."""

    def linear(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def screenshot(locator) -> Image.Image:
    """The element as painted, one image pixel per CSS pixel (device scale factor 1)."""
    return Image.open(io.BytesIO(locator.screenshot(animations="disabled"))).convert("RGB")


def page_colour(image: Image.Image) -> tuple[int, int, int]:
    """The colour that covers most of the picture: the page behind the element."""
    return max(image.getcolors(image.width * image.height))[1]


# Where the track and the handle are, in CSS px from the top left of the slider's row.
GEOMETRY_JS = """
(row) => {
  const box = row.getBoundingClientRect();
  const at = (el) => {
    const r = el.getBoundingClientRect();
    return {left: r.left - box.left, right: r.right - box.left,
            top: r.top - box.top, bottom: r.bottom - box.top};
  };
  return {track: at(row.querySelector(".noUi-target")),
          handle: at(row.querySelector(".noUi-handle")),
          focused: row.querySelector(".noUi-handle").matches(":focus-visible")};
}
"""


def slider_pixels(image: Image.Image, geometry: dict) -> dict[str, float]:
    """Contrast of the painted track, handle border and focus ring against the page."""
    page = page_colour(image)
    track, handle = geometry["track"], geometry["handle"]
    middle = int((track["top"] + track["bottom"]) / 2)
    centre = int((handle["left"] + handle["right"]) / 2)

    def along(start: float, end: float) -> list[float]:
        # The track's middle row, 4 px clear of its rounded ends and of the handle.
        xs = range(int(start) + 4, int(end) - 4)
        return [contrast(image.getpixel((x, middle)), page) for x in xs]

    def best(ys: range) -> float:
        # A 3-px line drawn at a fractional position: its fully covered pixel counts.
        return max(contrast(image.getpixel((centre, y)), page) for y in ys)

    filled = along(track["left"], handle["left"])
    empty = along(handle["right"], track["right"])
    top = int(handle["top"])
    return {
        "page": "#{:02x}{:02x}{:02x}".format(*page),
        "track filled": min(filled) if filled else None,
        "track empty": min(empty) if empty else None,
        "handle": best(range(top, top + 3)),  # its 3-px border, above the track
        "focus ring": best(range(top - 5, top - 1)),  # 3 px, 2 px outside the handle
    }


@pytest.mark.parametrize("mode", harness.MODES)
@pytest.mark.parametrize("page_name", SLIDER_PAGES)
def test_slider_track_handle_and_focus_ring_stand_out_in_the_pixels(
    browser, base_url: str, page_name: str, mode: str
) -> None:
    visit = harness.open_page(browser, base_url + page_name, mode=mode)
    page = visit.page
    views, _ = harness.expected_widgets(harness.SITE, page_name)
    harness.wait_until_settled(page, views)
    sliders = harness.book_sliders(harness.SITE, page_name)
    found = []
    try:
        elements = page.locator(f".widget-subarea .{harness.SLIDER_CLASS}")
        assert elements.count() == len(sliders)
        for index, slider in enumerate(sliders):
            row = elements.nth(index).locator(".slider-container")
            row.scroll_into_view_if_needed()
            handle = row.locator(".noUi-handle")
            handle.focus()
            page.keyboard.press("Home")
            for _ in range(len(slider.options) // 2):  # mid-way: filled and empty track
                page.keyboard.press("ArrowRight")
            page.wait_for_timeout(100)
            geometry = row.evaluate(GEOMETRY_JS)
            assert geometry["focused"], f"slider {index}: no :focus-visible after the keyboard"
            measured = slider_pixels(screenshot(row), geometry)
            found.append((index, measured))
    finally:
        visit.close()
    report = "; ".join(
        f"slider {i}: "
        + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items())
        for i, m in found
    )
    print(f"{page_name} {mode}: {report}")
    for index, measured in found:
        for part in ("track filled", "track empty", "handle", "focus ring"):
            value = measured[part]
            assert value is not None, f"slider {index}: no {part} to measure: {report}"
            assert value >= MIN_CONTRAST, (
                f"{part} of slider {index} in {mode} mode: {value:.2f}:1 against the page "
                f"{measured['page']} (needs {MIN_CONTRAST}:1): {report}"
            )


# Display equations wider than their box: the box that scrolls (MathJax's container or the
# page's div.math around it), marked for the test.
WIDE_MATHS_JS = """
() => {
  const wide = [];
  document.querySelectorAll(".bd-content mjx-container[display='true']").forEach((m, index) => {
    const box = [m, m.parentElement].find((n) => n.scrollWidth > n.clientWidth + 1);
    if (!box || box.clientWidth === 0) return;
    box.dataset.wideMaths = String(index);
    const overflow = getComputedStyle(box).overflowX;
    wide.push({index: index, text: (m.textContent || "").trim().slice(0, 40),
               hidden: box.scrollWidth - box.clientWidth,
               scrolls: ["auto", "scroll"].includes(overflow), overflow: overflow});
  });
  return wide;
}
"""
# Hide (or show again) what the box holds, leaving the box's own painting.
HIDE_CONTENT_JS = """
(box, hide) => { for (const c of box.children) c.style.visibility = hide ? "hidden" : ""; }
"""


@pytest.mark.parametrize("mode", harness.MODES)
@pytest.mark.parametrize("page_name", harness.chapter_pages())
def test_phone_wide_display_maths_scrolls_and_shows_it(
    browser, base_url: str, page_name: str, mode: str
) -> None:
    visit = harness.open_page(browser, base_url + page_name, size="phone", mode=mode)
    page = visit.page
    views, _ = harness.expected_widgets(harness.SITE, page_name)
    harness.wait_until_settled(page, views)
    problems, measured = [], []
    try:
        # Open every dropdown (solutions hold equations too).
        page.evaluate(
            "() => document.querySelectorAll('.admonition.dropdown')"
            ".forEach((d) => d.classList.remove('toggle-hidden'))"
        )
        page.add_style_tag(
            content="html[data-mode] .admonition.dropdown:not(.toggle) > .admonition-title ~ *"
            " { height: auto !important; opacity: 1 !important; visibility: visible !important }"
        )
        page.wait_for_timeout(300)
        wide = page.evaluate(WIDE_MATHS_JS)
        for item in wide:
            box = page.locator(f"[data-wide-maths='{item['index']}']")
            box.scroll_into_view_if_needed()
            box.evaluate("(b) => { b.scrollLeft = 0; }")
            # The box alone: what shows that more of the equation is to the right?
            box.evaluate(HIDE_CONTENT_JS, True)
            image = screenshot(box)
            box.evaluate(HIDE_CONTENT_JS, False)
            page_rgb = image.getpixel((2, image.height // 2))  # the left end, scrolled to 0
            edge = [
                contrast(image.getpixel((x, y)), page_rgb)
                for x in range(max(0, image.width - 6), image.width)
                for y in range(image.height)
            ]
            cue = max(edge)
            measured.append(f"{item['text']!r} ({item['hidden']} px hidden): cue {cue:.2f}:1")
            if not item["scrolls"]:
                problems.append(f"{item['text']!r}: overflow-x {item['overflow']}, no scrolling")
            if cue < MIN_CONTRAST:
                problems.append(
                    f"{item['text']!r} hides {item['hidden']} px with no visible cue: the box's "
                    f"right edge reaches {cue:.2f}:1 against its background (needs 3:1)"
                )
    finally:
        visit.close()
    print(f"{page_name} {mode}: {len(measured)} wide display equations; " + "; ".join(measured))
    assert not problems, "\n".join(problems)


SOLUTION_TITLES = ".bd-content .solution.dropdown > .admonition-title"


@pytest.mark.parametrize("page_name", harness.chapter_pages())
def test_phone_tapping_a_solution_bar_opens_it(browser, base_url: str, page_name: str) -> None:
    visit = harness.open_page(browser, base_url + page_name, size="phone")
    page = visit.page
    views, _ = harness.expected_widgets(harness.SITE, page_name)
    harness.wait_until_settled(page, views)
    problems = []
    try:
        titles = page.locator(SOLUTION_TITLES)
        count = titles.count()
        url = page.url
        for index in range(count):
            title = titles.nth(index)
            title.scroll_into_view_if_needed()
            box = title.bounding_box()
            # Where a thumb lands: the middle of the bar.
            page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(400)
            opened = title.evaluate(
                "(t) => { const a = t.parentElement; const next = t.nextElementSibling;"
                " return !a.classList.contains('toggle-hidden')"
                " && !!next && next.checkVisibility({visibilityProperty: true})"
                " && next.getBoundingClientRect().height > 0; }"
            )
            text = " ".join(title.inner_text().split())
            if page.url != url:
                problems.append(f"{text!r}: the tap went to {page.url}")
                page.goto(url)
                harness.wait_until_settled(page, views)
            elif not opened:
                problems.append(f"{text!r}: the tap did not open the solution")
    finally:
        visit.close()
    print(f"{page_name}: {count} solution bars tapped")
    assert not problems, "\n".join(problems)
