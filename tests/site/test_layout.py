"""Layout of the built site on desktops and phones, in headless Chromium.

- Layout shift: at most 0.1 (cumulative layout shift as Chromium reports it), on a desktop
  and on a phone, and when a link opens a page at a section below its sliders (the widgets
  are drawn late; their height is reserved in advance).
- Phones (375 px): no page wider than the screen; no equation or table cut off (too wide
  for the column, it scrolls in its own box, which the keyboard can reach); figure text at
  least 8 CSS px as displayed, or the figure opens at full size when tapped, where it is;
  each chapter saved as a full-page screenshot in `_build/screenshots/` at 375 px.
- No horizontal scrollbar under any figure, at either width.
- Layout shift is the worst of SHIFT_LOADS fresh loads of each page (a single load passed or
  failed at random on a loaded machine).
- Figure text at least 8 CSS px as displayed on a desktop too, or the figure opens full size.
- Reflow at 320 px (WCAG 1.4.10), also with WCAG 1.4.12 text spacing: the page is no wider
  than the screen, and no inline equation or other text sticks out of its column, unless the
  box that holds it scrolls.

Layout shift and weight (test_browser.py) do not depend on the machine's speed; the
timings on a throttled network are in `make bench` (benchmarks/bench_site.py).
"""

from __future__ import annotations

from pathlib import Path

import harness
import pytest

PAGES = harness.pages()
CHAPTER_PAGES = harness.chapter_pages()
DEEP_LINKS = [
    (page, target)
    for page in PAGES
    if (target := harness.deep_link_target(harness.SITE, page)) is not None
]

# Boxes that would show a horizontal scrollbar under a figure.
FIGURE_SCROLL_JS = """
() => [...document.querySelectorAll(
    ".bd-content figure, .bd-content .cell_output, .bd-content .widget-subarea")]
  .filter((el) => el.scrollWidth > el.clientWidth + 1
    && ["auto", "scroll"].includes(getComputedStyle(el).overflowX))
  .map((el) => `${el.tagName.toLowerCase()}#${el.id || ""}.${el.className}: `
    + `${el.scrollWidth} px of content in ${el.clientWidth} px`)
"""
# Equations and tables whose content does not fit: fine if their box scrolls and can take
# the keyboard focus; cut off if a box hides the overflow or the page itself widens.
CUT_OFF_JS = """
() => {
  const problems = [];
  const viewport = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > viewport + 1) {
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide on a `
      + `${viewport} px screen`);
  }
  const items = document.querySelectorAll(
    ".bd-content mjx-container[display='true'], .bd-content table, .bd-content pre");
  for (const item of items) {
    const rect = item.getBoundingClientRect();
    if (rect.width === 0) continue;
    let box = item.parentElement, scroller = null;
    for (let n = item; n && n !== document.body; n = n.parentElement) {
      const overflow = getComputedStyle(n).overflowX;
      if (overflow !== "visible") { scroller = n; break; }
    }
    const name = item.tagName.toLowerCase() + " " + (item.textContent || "").trim().slice(0, 50);
    if (scroller) {
      const overflow = getComputedStyle(scroller).overflowX;
      const wide = scroller.scrollWidth > scroller.clientWidth + 1;
      if (wide && !["auto", "scroll"].includes(overflow)) {
        problems.push(`${name}: cut off by overflow-x ${overflow}`);
      } else if (wide && scroller.tabIndex < 0
                 && !scroller.querySelector("a, button, [tabindex]")) {
        problems.push(`${name}: scrolls, but the keyboard cannot reach it`);
      }
    } else if (rect.right > viewport + 1) {
      problems.push(`${name}: reaches ${Math.round(rect.right)} px on a ${viewport} px screen`);
    }
  }
  return problems;
}
"""


def visit_settled(browser, url: str, page_name: str, **options) -> harness.Visit:
    visit = harness.open_page(browser, url, **options)
    views, _ = harness.expected_widgets(harness.SITE, page_name)
    harness.wait_until_settled(visit.page, views)
    visit.page.wait_for_timeout(500)  # a late shift would show up here
    return visit


def _shift_report(page) -> str:
    moved = [s for s in harness.shifts(page) if not s["input"]]
    return "; ".join(f"{s['value']:.3f} at {s['time']:.0f} ms by {s['sources']}" for s in moved)


# Plain loads per page and size: the test takes the worst.
SHIFT_LOADS = 5


def worst_shift(browser, url: str, page_name: str, first: float, report: str, **options):
    """(worst layout shift, its report, every load's shift): `first` is a load already made,
    the others are fresh visits (empty cache) until there are SHIFT_LOADS."""
    worst, worst_report, values = first, report, [first]
    for _ in range(SHIFT_LOADS - 1):
        visit = visit_settled(browser, url, page_name, **options)
        try:
            shift = harness.layout_shift(visit.page)
            if shift > worst:
                worst, worst_report = shift, _shift_report(visit.page)
            values.append(shift)
        finally:
            visit.close()
    return worst, worst_report, values


def _frames_text(page_name: str, figures: list[dict]) -> None:
    """Slider frames other than the one shown: same displayed width, their own text sizes."""
    sliders = harness.book_sliders(harness.SITE, page_name)
    shown = [f for f in figures if f["src"].startswith("slider frame")]
    for slider, frame in zip(sliders, shown, strict=False):
        sizes = [px for px in slider.text_px if isinstance(px, float)]
        if sizes and frame["natural"]:
            frame["textPx"] = min(sizes)
            frame["shownTextPx"] = min(sizes) * frame["shown"] / frame["natural"]


@pytest.mark.parametrize("page_name", PAGES)
def test_no_layout_shift_and_no_scrollbar_under_figures_on_a_desktop(
    browser, base_url: str, page_name: str, measurements
) -> None:
    visit = visit_settled(browser, base_url + page_name, page_name)
    try:
        shift = harness.layout_shift(visit.page)
        report = _shift_report(visit.page)
        scrollbars = visit.page.evaluate(FIGURE_SCROLL_JS)
        figures = harness.figure_text(visit.page)
    finally:
        visit.close()
    shift, report, loads = worst_shift(browser, base_url + page_name, page_name, shift, report)
    measurements.setdefault(page_name, {})["shift"] = shift
    _frames_text(page_name, figures)
    texts = [f for f in figures if isinstance(f["textPx"], float)]
    smallest = min((f["shownTextPx"] for f in texts), default=None)
    if smallest is not None:
        measurements[page_name]["text_px_desktop"] = smallest
    print(
        f"{page_name}: layout shift of {len(loads)} loads "
        + ", ".join(f"{v:.3f}" for v in loads)
        + ("" if smallest is None else f"; smallest figure text {smallest:.2f} px")
    )
    assert shift <= harness.MAX_LAYOUT_SHIFT, (
        f"layout shift {shift:.3f} (worst of {len(loads)} loads: {loads}): {report}"
    )
    assert not scrollbars, f"scrollbars under figures: {scrollbars}"
    small = [
        f"{f['src'][:60]}: {f['shownTextPx']:.2f} px"
        for f in texts
        if f["shownTextPx"] < harness.MIN_FIGURE_TEXT_PX and not f["zoomable"]
    ]
    assert not small, (
        f"figure text under {harness.MIN_FIGURE_TEXT_PX} px on a desktop, and no full-size "
        f"view: {small}"
    )


@pytest.mark.parametrize(("page_name", "target"), DEEP_LINKS)
def test_no_layout_shift_when_a_link_opens_a_section_below_the_sliders(
    browser, base_url: str, page_name: str, target: str, measurements
) -> None:
    visit = visit_settled(browser, f"{base_url}{page_name}#{target}", page_name)
    try:
        shift = harness.layout_shift(visit.page)
        report = _shift_report(visit.page)
        top = visit.page.locator(f"#{target}").evaluate("(e) => e.getBoundingClientRect().top")
    finally:
        visit.close()
    measurements.setdefault(page_name, {})["shift_deep_link"] = shift
    assert shift <= harness.MAX_LAYOUT_SHIFT, f"layout shift {shift:.3f} at #{target}: {report}"
    assert -2 <= top <= 120, f"#{target} ended {top:.0f} px from the top of the window"


@pytest.mark.parametrize("page_name", PAGES)
def test_phone_nothing_cut_off_no_shift_and_readable_figures(
    browser, base_url: str, page_name: str, screenshots: Path, measurements
) -> None:
    visit = visit_settled(browser, base_url + page_name, page_name, size="phone")
    page = visit.page
    try:
        shift = harness.layout_shift(page)
        report = _shift_report(page)
        if page_name in CHAPTER_PAGES:  # before anything below takes the focus or scrolls
            name = Path(page_name).stem
            page.screenshot(path=str(screenshots / f"{name}-375.png"), full_page=True)
        cut_off = page.evaluate(CUT_OFF_JS)
        scrollbars = page.evaluate(FIGURE_SCROLL_JS)
        figures = harness.figure_text(page)
        full_size = _full_size_views(page)
    finally:
        visit.close()

    shift, report, loads = worst_shift(
        browser, base_url + page_name, page_name, shift, report, size="phone"
    )
    print(
        f"{page_name}: layout shift on a phone of {len(loads)} loads "
        + ", ".join(f"{v:.3f}" for v in loads)
    )
    _frames_text(page_name, figures)

    record = measurements.setdefault(page_name, {})
    record["shift_phone"] = shift
    texts = [f for f in figures if isinstance(f["textPx"], float)]
    if texts:
        record["text_px_phone"] = min(f["shownTextPx"] for f in texts)
    opened = [f for f in full_size if f["shownTextPx"] is not None]
    if opened:
        record["text_px_full"] = min(f["shownTextPx"] for f in opened)

    assert shift <= harness.MAX_LAYOUT_SHIFT, (
        f"layout shift {shift:.3f} on a phone (worst of {len(loads)} loads: {loads}): {report}"
    )
    assert not cut_off, "cut off on a 375 px phone:\n" + "\n".join(cut_off)
    assert not scrollbars, f"scrollbars under figures on a phone: {scrollbars}"
    unknown = [f["src"] for f in figures if f["textPx"] is None]
    assert not unknown, (
        f"figures with no recorded text size (draw them with nnscratch.plots.to_png): {unknown}"
    )
    small = [f for f in texts if f["shownTextPx"] < harness.MIN_FIGURE_TEXT_PX]
    not_zoomable = [f["src"] for f in small if not f["zoomable"]]
    assert not not_zoomable, (
        f"figure text under {harness.MIN_FIGURE_TEXT_PX} px on a phone, and no full-size "
        f"view: {not_zoomable}"
    )
    # Every full-size view that can be opened now (figures in closed dropdowns are marked too).
    assert len(full_size) == len([f for f in figures if f["zoomable"] and f["visible"]])
    for view in full_size:
        where = f"full-size view of {view['src']}: {view}"
        assert view["focus"] == "Close" and view["closed"], where
        assert view["shown"] >= view["natural"] - 1, f"smaller than full size: {where}"
        if view["shownTextPx"] is not None:
            assert view["shownTextPx"] >= harness.MIN_FIGURE_TEXT_PX, f"text too small: {where}"


def _full_size_views(page) -> list[dict]:
    """Tap every figure marked for a full-size view; what each dialog showed, then close it."""
    views = []
    figures = page.locator("img.nnscratch-zoomable:visible")
    dialog = page.locator("dialog.nnscratch-zoom")
    for index in range(figures.count()):
        figure = figures.nth(index)
        figure.scroll_into_view_if_needed()
        figure.tap()
        dialog.wait_for(state="visible", timeout=5000)
        page.locator("dialog.nnscratch-zoom img[data-ready]").wait_for(timeout=5000)
        (view,) = page.evaluate(harness.FIGURE_TEXT_JS, "dialog.nnscratch-zoom img")
        view["focus"] = page.evaluate("document.activeElement.textContent")
        page.keyboard.press("Escape")
        page.wait_for_timeout(100)
        view["closed"] = not dialog.evaluate("(d) => d.open")
        views.append(view)
    return views


# WCAG 1.4.12: text spacing a reader may set, without loss of content.
TEXT_SPACING_CSS = """
* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
    word-spacing: 0.16em !important; }
p { margin-bottom: 2em !important; }
"""
# What sticks out at this width: the page itself; an inline equation beyond the block that
# holds it (unless it scrolls in its own box); any other element of the article past the
# screen's edge that no scrolling box holds (cut off, or only reachable by moving the page).
REFLOW_JS = """
() => {
  const problems = [];
  const viewport = document.documentElement.clientWidth;
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > viewport + 1) {
    problems.push(`the page is ${pageWidth} px wide on a ${viewport} px screen`);
  }
  const scrolls = (n) => ["auto", "scroll"].includes(getComputedStyle(n).overflowX);
  function inScroller(el) {
    for (let n = el; n && n !== document.body; n = n.parentElement) {
      if (scrolls(n)) return n;
    }
    return null;
  }
  const visible = (el) => el.getClientRects().length > 0
    && el.checkVisibility({visibilityProperty: true, opacityProperty: true});
  const name = (el) =>
    el.tagName.toLowerCase() + ` "${(el.textContent || "").trim().slice(0, 50)}"`;
  for (const maths of document.querySelectorAll(
      ".bd-content mjx-container:not([display='true'])")) {
    if (!visible(maths)) continue;
    const block = maths.parentElement.closest("p, li, dd, dt, td, th, figcaption, div");
    const right = Math.round(maths.getBoundingClientRect().right);
    const limit = Math.round(Math.min(block.getBoundingClientRect().right, viewport));
    // Reachable if it scrolls in its own box, or in a box (a table's) that fits the screen.
    const scroller = inScroller(maths);
    const reachable = scroller
      && (scroller === maths || scroller.getBoundingClientRect().right <= viewport + 1);
    if (right > limit + 1 && !reachable) {
      problems.push(`inline ${name(maths)}: reaches ${right} px, its column ends at ${limit} px`);
    }
  }
  for (const el of document.querySelectorAll(".bd-article *")) {
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.right <= viewport + 1 || !visible(el)) continue;
    if (el.closest("mjx-container") && el.tagName.toLowerCase() !== "mjx-container") continue;
    const scroller = inScroller(el.parentElement);
    if (scroller && scroller.getBoundingClientRect().right <= viewport + 1) continue;
    if (el.children.length && [...el.children].some((c) => c.getBoundingClientRect().right
        > viewport + 1)) continue;  // report the innermost
    problems.push(`${name(el)}: reaches ${Math.round(rect.right)} px on a ${viewport} px screen`);
  }
  return problems.slice(0, 20);
}
"""

# Every dropdown open, as a reader who opens them sees it.
OPEN_DROPDOWNS_JS = """
() => document.querySelectorAll(".admonition.dropdown")
  .forEach((d) => d.classList.remove("toggle-hidden"))
"""
OPEN_DROPDOWNS_CSS = """
html[data-mode] .admonition.dropdown:not(.toggle) > .admonition-title ~ * {
  height: auto !important; opacity: 1 !important; visibility: visible !important; }
"""


@pytest.mark.parametrize("spacing", ["plain", "text-spacing"])
@pytest.mark.parametrize("page_name", PAGES)
def test_reflow_at_320_px(browser, base_url: str, page_name: str, spacing: str) -> None:
    visit = visit_settled(browser, base_url + page_name, page_name, size="phone")
    page = visit.page
    try:
        page.set_viewport_size({"width": 320, "height": 640})
        page.evaluate(OPEN_DROPDOWNS_JS)  # solutions hold equations too
        page.add_style_tag(content=OPEN_DROPDOWNS_CSS)
        if spacing == "text-spacing":
            page.add_style_tag(content=TEXT_SPACING_CSS)
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        problems = page.evaluate(REFLOW_JS)
    finally:
        visit.close()
    print(f"{page_name} at 320 px ({spacing}): page {width} px wide, {len(problems)} problems")
    assert not problems, f"at 320 px ({spacing}):\n" + "\n".join(problems)
