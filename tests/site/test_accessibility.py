"""Accessibility of the built site (WCAG 2.1 AA), in headless Chromium.

- axe-core (pinned in package.json, injected from node_modules) finds no wcag2a, wcag2aa,
  wcag21a or wcag21aa violation, nor any of its best-practice rules (landmarks, headings,
  ...), on any page, in light and dark mode, at desktop (1280 px) and phone (375 px) widths;
- every slider of the book (nnscratch.widgets) is named by its label, unique on its page;
  it announces the value its readout shows ("p = 0.50"), not an index; the frame it shows
  has that frame's alt text, and when the slider moves, that text is put in the slider's
  polite live region (role "status"), where screen readers announce it (WCAG 4.1.3); its
  readout cannot be typed into;
- slider handles are at least 24 x 24 px; handle, track and focus ring stand out from the
  page by 3:1 or more, in both modes; every control shows where the keyboard focus is.

The slider checks read what each slider must say from the page's embedded widget state, so
they hold for whatever sliders the chapters define.
"""

from __future__ import annotations

import harness
import pytest

PAGES = harness.pages()
SLIDER_PAGES = [page for page in PAGES if harness.book_sliders(harness.SITE, page)]
COMBINATIONS = [(mode, size) for mode in harness.MODES for size in harness.SIZES]
# WCAG 2.0/2.1 A and AA, and axe's best practices (such as: all content inside landmarks).
AXE_TAGS = [*harness.AXE_TAGS, "best-practice"]

# WCAG's relative luminance and contrast ratio, for colours the page computed; the
# background is the first opaque one up the tree.
CONTRAST_JS = """
(element) => {
  function rgb(text) {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(",").map((x) => parseFloat(x));
    return {r, g, b, a: a === undefined ? 1 : a};
  }
  function luminance(c) {
    const lin = [c.r, c.g, c.b].map((v) => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }
  function ratio(a, b) {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  }
  function background(node) {
    for (let n = node.parentElement; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.99) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  }
  const handle = element.querySelector(".noUi-handle");
  const track = element.querySelector(".noUi-target");
  const page = background(element);
  const handleStyle = getComputedStyle(handle);
  const box = handle.getBoundingClientRect();
  return {
    width: box.width, height: box.height,
    handle: ratio(rgb(handleStyle.borderTopColor), page),
    handleBorder: parseFloat(handleStyle.borderTopWidth),
    track: ratio(rgb(getComputedStyle(track).backgroundColor), page),
    focusStyle: handleStyle.outlineStyle,
    focusWidth: parseFloat(handleStyle.outlineWidth),
    focus: ratio(rgb(handleStyle.outlineColor), page),
    focusVisible: handle.matches(":focus-visible"),
  };
}
"""

# Whether the element with the keyboard focus shows it: an outline, a box shadow, or
# (for links) an underline that only focus adds.
FOCUS_SHOWN_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 1;
  const shadow = s.boxShadow && s.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  const described = el.tagName.toLowerCase() + "." + String(el.className) + " "
    + (el.getAttribute("aria-label") || el.textContent || "").trim().slice(0, 40);
  const first = !el.dataset.tabVisited;
  el.dataset.tabVisited = "1";
  return {shown: outline || shadow, what: described, first: first,
          visible: box.width > 0 && box.height > 0};
}
"""


def visit_settled(browser, base_url: str, page_name: str, **options) -> harness.Visit:
    visit = harness.open_page(browser, base_url + page_name, **options)
    views, _ = harness.expected_widgets(harness.SITE, page_name)
    harness.wait_until_settled(visit.page, views)
    return visit


@pytest.mark.parametrize(("mode", "size"), COMBINATIONS)
@pytest.mark.parametrize("page_name", PAGES)
def test_axe_finds_no_wcag_violation_and_no_best_practice_issue(
    browser, base_url: str, axe_available, page_name: str, mode: str, size: str, measurements
) -> None:
    visit = visit_settled(browser, base_url, page_name, mode=mode, size=size)
    try:
        theme = visit.page.evaluate("document.documentElement.dataset.theme")
        violations = harness.axe_violations(visit.page, AXE_TAGS)
    finally:
        visit.close()
    assert theme == mode, f"the page opened in {theme} mode, not {mode}"
    counts = measurements.setdefault(page_name, {})
    counts["axe"] = counts.get("axe", 0) + sum(len(v["nodes"]) for v in violations)
    report = [
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
        for v in violations
    ]
    assert not violations, f"{len(violations)} rules violated:\n" + "\n".join(report)


def _shown(element) -> tuple[str | None, str, str | None]:
    """What a slider says now: the handle's spoken value, the readout, the frame's alt text."""
    return (
        element.locator(".noUi-handle").get_attribute("aria-valuetext"),
        element.locator(".widget-readout").inner_text().strip(),
        element.locator("img").first.get_attribute("alt"),
    )


def _settle(page, element, want: tuple, timeout_ms: int = 5000, read=_shown) -> tuple:
    """`read(element)` once it equals `want`, or as it is after `timeout_ms`."""
    got = read(element)
    for _ in range(timeout_ms // 50):
        if got == want:
            break
        page.wait_for_timeout(50)
        got = read(element)
    return got


def _announced(element) -> tuple[int, str, str]:
    """The slider's polite live regions: how many, their role and their text."""
    regions = element.locator("[aria-live]")
    if regions.count() != 1:
        return regions.count(), "", ""
    region = regions.first
    return (
        1,
        f"{region.get_attribute('role')}/{region.get_attribute('aria-live')}",
        region.text_content().strip(),
    )


@pytest.mark.parametrize("page_name", SLIDER_PAGES)
def test_sliders_are_named_announce_their_value_and_describe_their_frame(
    browser, base_url: str, page_name: str
) -> None:
    expected = harness.book_sliders(harness.SITE, page_name)
    visit = visit_settled(browser, base_url, page_name)
    page = visit.page
    try:
        elements = page.locator(f".widget-subarea .{harness.SLIDER_CLASS}")
        assert elements.count() == len(expected)
        names = page.locator(".noUi-handle").evaluate_all(
            "(hs) => hs.map((h) => h.getAttribute('aria-label') || '')"
        )
        assert all(name.strip() for name in names), f"slider handles without a name: {names}"
        repeated = sorted({n for n in names if names.count(n) > 1})
        assert not repeated, f"several sliders on this page are called {repeated}"
        images = page.locator(".widget-subarea img").evaluate_all("(is) => is.map((i) => i.alt)")
        assert all(alt.strip() for alt in images), f"widget images without alt text: {images}"

        for index, slider in enumerate(expected):
            element = elements.nth(index)
            handle = element.locator(".noUi-handle")
            where = f"slider {index} ({slider.label!r})"
            assert handle.get_attribute("aria-label") == slider.label.replace("\\(", "").replace(
                "\\)", ""
            ), where
            handle.focus()
            before = round(float(handle.get_attribute("aria-valuenow")))
            for key in ("Home", "ArrowRight", "End"):
                page.keyboard.press(key)
                position = round(float(handle.get_attribute("aria-valuenow")))
                option = slider.options[position]
                want = (option, option, slider.alts[position])
                got = _settle(page, element, want)
                assert got == want, (
                    f"{where} after {key}: (spoken value, readout, alt text) is {got}, "
                    f"expected {want}"
                )
                if position == before:
                    continue  # the key did not move the slider: nothing new to announce
                before = position
                want = (1, "status/polite", slider.alts[position].strip())
                got = _settle(page, element, want, read=_announced)
                assert got == want, (
                    f"{where} after {key}: (live regions, role/politeness, text) is "
                    f"{got[:2] + (got[2][:80],)}, expected {want[:2] + (want[2][:80],)}"
                )
    finally:
        visit.close()
    assert not visit.errors, "\n".join(visit.errors)


@pytest.mark.parametrize("page_name", SLIDER_PAGES)
def test_slider_readouts_cannot_be_typed_into(browser, base_url: str, page_name: str) -> None:
    visit = visit_settled(browser, base_url, page_name)
    page = visit.page
    try:
        elements = page.locator(f".widget-subarea .{harness.SLIDER_CLASS}")
        for index in range(elements.count()):
            element = elements.nth(index)
            readout = element.locator(".widget-readout")
            handle = element.locator(".noUi-handle")
            before = (readout.inner_text(), handle.get_attribute("aria-valuenow"))
            alt = element.locator("img").first.get_attribute("alt")
            assert readout.get_attribute("contenteditable") != "true"
            readout.click()
            page.keyboard.type("banana")
            page.keyboard.press("Enter")
            page.wait_for_timeout(100)
            after = (readout.inner_text(), handle.get_attribute("aria-valuenow"))
            assert after == before, f"slider {index}: typing changed the readout to {after}"
            assert element.locator("img").first.get_attribute("alt") == alt
    finally:
        visit.close()


@pytest.mark.parametrize("mode", harness.MODES)
@pytest.mark.parametrize("page_name", SLIDER_PAGES)
def test_slider_handles_are_large_and_stand_out_with_a_visible_focus_ring(
    browser, base_url: str, page_name: str, mode: str
) -> None:
    visit = visit_settled(browser, base_url, page_name, mode=mode)
    page = visit.page
    try:
        elements = page.locator(f".widget-subarea .{harness.SLIDER_CLASS}")
        for index in range(elements.count()):
            element = elements.nth(index)
            handle = element.locator(".noUi-handle")
            handle.focus()
            page.keyboard.press("ArrowRight")  # keyboard use: the focus ring must show
            page.keyboard.press("ArrowLeft")
            found = element.evaluate(CONTRAST_JS)
            where = f"slider {index} in {mode} mode: {found}"
            # Rounded: a handle placed at a fraction of the track measures 23.99997 px.
            size = round(found["width"], 2), round(found["height"], 2)
            assert min(size) >= 24, f"handle under 24 px: {where}"
            assert found["handle"] >= 3 and found["handleBorder"] >= 2, f"handle: {where}"
            assert found["track"] >= 3, f"track: {where}"
            assert found["focusVisible"], f"no :focus-visible after keyboard use: {where}"
            assert found["focusStyle"] != "none" and found["focusWidth"] >= 2, f"ring: {where}"
            assert found["focus"] >= 3, f"focus ring contrast: {where}"
    finally:
        visit.close()


@pytest.mark.parametrize("page_name", PAGES)
def test_every_control_shows_the_keyboard_focus(browser, base_url: str, page_name: str) -> None:
    visit = visit_settled(browser, base_url, page_name)
    page = visit.page
    unseen, visited = [], 0
    try:
        for _ in range(600):
            page.keyboard.press("Tab")
            found = page.evaluate(FOCUS_SHOWN_JS)
            if found is None or not found["first"]:
                break  # back at the start: every control has had the focus
            visited += 1
            if found["visible"] and not found["shown"]:
                unseen.append(found["what"])
    finally:
        visit.close()
    assert visited, "the Tab key reached no control"
    assert not unseen, f"controls that hide the keyboard focus: {unseen}"
