"""What a reader's browser sees: the built site served locally, opened in headless Chromium.

Shared by the browser tests (tests/site/) and the site benchmark (benchmarks/bench_site.py):
serve `_build/html` on 127.0.0.1, open a page at a desktop or phone width, in light or dark
mode, optionally on a throttled network, and measure it (page weight, layout shift, first
paint, when the sliders became usable, axe-core's accessibility violations, figure text
sizes). The browser is Debian's `/usr/bin/chromium` driven by playwright; `playwright
install` is never used.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import re
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# CSS pixels. The phone is a 375-pixel-wide iPhone-sized screen.
SIZES = {"desktop": (1280, 900), "phone": (375, 812)}
MODES = ("light", "dark")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The budgets of DESIGN.md; the tests check weight and layout shift, `make bench` the times.
MAX_PAGE_BYTES = 6_000_000
MAX_LAYOUT_SHIFT = 0.1
MAX_FIRST_PAINT_S = 2.0
MAX_SLIDERS_USABLE_S = 7.0
MIN_FIGURE_TEXT_PX = 8.0
# Chromium's network emulation: 10 Mbit/s down and up, 40 ms added to every round trip.
THROTTLED = {
    "offline": False,
    "latency": 40,
    "downloadThroughput": 10e6 / 8,
    "uploadThroughput": 10e6 / 8,
}
WIDGET_TIMEOUT_MS = 60_000

STATE_RE = re.compile(
    r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.DOTALL
)
VIEW_RE = re.compile(
    r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', re.DOTALL
)
STATE_SCRIPT_RE = re.compile(r'<script[^>]* src="([^"]*_static/widgets/[^"]+\.js[^"]*)"')
REFERENCE_RE = re.compile(r"IPY_MODEL_([0-9a-f]+)")
SECTION_RE = re.compile(r'<section id="([^"]+)">\s*<h[2-6]>')
SLIDER_CLASS = "nnscratch-slider"  # nnscratch.widgets.SLIDER_CLASS
TEXT_KEY = "nnscratch:min-text-px"  # nnscratch.plots.MIN_TEXT_KEY

# Runs in every page before its own scripts: records layout shifts (with the time of the
# last input, which excuses a shift that follows it) and page errors.
INIT_JS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.__shifts.push({value: entry.value, time: entry.startTime, input: entry.hadRecentInput,
      sources: (entry.sources || []).map((s) => {
        const node = s.node;
        return node ? (node.id ? "#" + node.id : node.nodeName + "." + String(node.className))
          : "?";
      })});
  }
}).observe({type: "layout-shift", buffered: true});
"""
# Cumulative layout shift as Chromium reports it: the largest session window (shifts less
# than 1 s apart, at most 5 s long) of shifts not caused by the reader's input.
CLS_JS = """
() => {
  let best = 0, current = 0, start = -1, last = -1;
  for (const s of window.__shifts.filter((s) => !s.input)) {
    if (start < 0 || s.time - last > 1000 || s.time - start > 5000) { current = 0; start = s.time; }
    current += s.value; last = s.time; best = Math.max(best, current);
  }
  return best;
}
"""
# Everything the page fetched over HTTP, uncompressed.
WEIGHT_JS = """
() => performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
  .filter((e) => e.name.startsWith("http"))
  .map((e) => [e.name, Math.max(e.decodedBodySize, e.encodedBodySize, e.transferSize)])
"""
# The smallest text of a PNG as displayed: `plots.to_png` writes the height of its smallest
# font in pixels into a tEXt chunk; the page shows the picture at clientWidth / naturalWidth.
FIGURE_TEXT_JS = """
async (selector) => {
  const key = "nnscratch:min-text-px"; // nnscratch.plots.MIN_TEXT_KEY
  function textChunk(bytes) {
    const view = new DataView(bytes);
    let at = 8;
    while (at + 8 <= bytes.byteLength) {
      const length = view.getUint32(at);
      const type = String.fromCharCode(...new Uint8Array(bytes, at + 4, 4));
      if (type === "tEXt") {
        const text = new TextDecoder("latin1").decode(new Uint8Array(bytes, at + 8, length));
        const [name, value] = text.split("\\0");
        if (name === key) return value === "none" ? "none" : parseFloat(value);
      }
      if (type === "IDAT" || type === "IEND") break;
      at += 12 + length;
    }
    return null;
  }
  const out = [];
  for (const img of document.querySelectorAll(selector)) {
    if (!img.complete || !img.naturalWidth) { await img.decode().catch(() => null); }
    const bytes = await (await fetch(img.currentSrc || img.src)).arrayBuffer();
    const textPx = textChunk(bytes);
    const rect = img.getBoundingClientRect();
    out.push({
      src: img.src.startsWith("blob:") ? "slider frame: " + img.alt : img.src.split("/").pop(),
      alt: img.alt, natural: img.naturalWidth, shown: rect.width, textPx: textPx,
      shownTextPx: typeof textPx === "number" ? textPx * rect.width / img.naturalWidth : null,
      zoomable: img.classList.contains("nnscratch-zoomable"),
      visible: img.checkVisibility({visibilityProperty: true, opacityProperty: true}),
    });
  }
  return out;
}
"""
FIGURE_IMAGES = ".bd-content figure img, .bd-content .cell_output img, .nnscratch-slider img"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 at a port the OS picks; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium under playwright; a clear error if it is missing."""
    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: `apt-get install chromium` (as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --- The built site ---------------------------------------------------------------------------


def pages(site: Path = SITE) -> list[str]:
    """Every HTML page of the site, as paths relative to its root."""
    return sorted(
        path.relative_to(site).as_posix()
        for path in site.rglob("*.html")
        if path.relative_to(site).parts[0] not in ("_static", "_sources", "_images")
    )


def chapter_pages(site: Path = SITE) -> list[str]:
    return [p for p in pages(site) if p.startswith("chapters/") or p == "intro.html"]


def widget_state(site: Path, page: str) -> tuple[list[str], dict[str, dict]]:
    """(model ids of the page's widget views, every model of its widget state).

    The state is inline (as myst-nb writes it) or in the script that site/book_pages.py
    writes for the page, `_static/widgets/<page>.js`, whose one line starting with a quote
    is the state's JSON text as a JSON string.
    """
    html = (site / page).read_text(encoding="utf-8")
    views = [json.loads(text)["model_id"] for text in VIEW_RE.findall(html)]
    models: dict[str, dict] = {}
    for text in STATE_RE.findall(html):
        models.update(json.loads(text)["state"])
    for src in STATE_SCRIPT_RE.findall(html):
        script = (site / page).parent.joinpath(src.split("?")[0]).read_text(encoding="utf-8")
        line = next(line for line in script.splitlines() if line.startswith('"'))
        models.update(json.loads(json.loads(line))["state"])
    return views, models


def reachable(models: dict[str, dict], roots: list[str]) -> list[str]:
    """Model ids reachable from `roots`, depth first, in the order the page draws them."""
    seen: list[str] = []

    def visit(model_id: str) -> None:
        if model_id in seen or model_id not in models:
            return
        seen.append(model_id)
        for child in REFERENCE_RE.findall(json.dumps(models[model_id]["state"])):
            visit(child)

    for root in roots:
        visit(root)
    return seen


def expected_widgets(site: Path, page: str) -> tuple[int, int]:
    """(embedded widget views, slider models reachable from them), from the page's HTML."""
    views, models = widget_state(site, page)
    sliders = sum(models[m]["model_name"].endswith("SliderModel") for m in reachable(models, views))
    return len(views), sliders


@dataclass
class BookSlider:
    """What the widget state says one of the book's sliders must show and say."""

    label: str
    options: list[str]
    alts: list[str]
    text_px: list[float | str | None]  # each frame's smallest text (png_text_px)


def png_text_px(png: bytes) -> float | str | None:
    """The smallest text size that `nnscratch.plots.to_png` recorded in a PNG.

    Returns the size in pixels, "none" for a picture without text, None if not recorded.
    """
    at = 8
    while at + 8 <= len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        if kind == b"tEXt":
            name, _, value = png[at + 8 : at + 8 + length].partition(b"\0")
            if name.decode("latin-1") == TEXT_KEY:
                text = value.decode("latin-1")
                return text if text == "none" else float(text)
        if kind in (b"IDAT", b"IEND"):
            break
        at += 12 + length
    return None


def book_sliders(site: Path, page: str) -> list[BookSlider]:
    """The page's `nnscratch.widgets` sliders (VBox with SLIDER_CLASS), in page order."""
    views, models = widget_state(site, page)
    found = []
    for model_id in reachable(models, views):
        state = models[model_id]["state"]
        if SLIDER_CLASS not in state.get("_dom_classes", []):
            continue
        slider_id, stack_id = REFERENCE_RE.findall(json.dumps(state["children"]))[:2]
        slider, stack = models[slider_id]["state"], models[stack_id]["state"]
        sizes = []
        for image_id in REFERENCE_RE.findall(json.dumps(stack["children"])):
            buffers = models[image_id].get("buffers", [])
            png = base64.b64decode(buffers[0]["data"]) if buffers else b""
            sizes.append(png_text_px(png))
        found.append(
            BookSlider(
                slider["description"], slider["_options_labels"], list(stack["titles"]), sizes
            )
        )
    return found


def deep_link_target(site: Path, page: str) -> str | None:
    """The id of the last titled section that starts below the page's last widget, if any."""
    html = (site / page).read_text(encoding="utf-8")
    views = [m.start() for m in VIEW_RE.finditer(html)]
    if not views:
        return None
    after = [m.group(1) for m in SECTION_RE.finditer(html) if m.start() > views[-1]]
    return after[-1] if after else None


# --- Opening a page ---------------------------------------------------------------------------


@dataclass
class Visit:
    """A page opened in its own browser context, and what happened while it loaded."""

    context: object
    page: object
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # every console message, of any type
    opened_s: float = 0.0

    def close(self) -> None:
        self.context.close()


def open_page(
    browser,
    url: str,
    *,
    size: str = "desktop",
    mode: str = "light",
    throttle: bool = False,
    wait_until: str = "load",
    init_script: str | None = None,
) -> Visit:
    """Open `url` in a fresh context (empty cache) at `size` in `mode`, blocking other hosts.

    `init_script` runs in the page before any of its own scripts (after INIT_JS).
    """
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme=mode,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=1,
    )
    # The theme keeps the reader's choice in localStorage; start every visit in `mode`.
    context.add_init_script(
        f"try {{ localStorage.setItem('mode', '{mode}');"
        f" localStorage.setItem('theme', '{mode}'); }} catch (e) {{}}"
    )
    context.add_init_script(INIT_JS)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    visit = Visit(context, page)
    host = urlsplit(url).netloc

    def route(route):
        request_url = route.request.url
        # blob: and data: URLs (the widget images) are made in the page, not fetched.
        if urlsplit(request_url).netloc == host or request_url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            visit.external.append(request_url)
            route.abort()

    def on_console(message):
        visit.console.append(f"console {message.type}: {message.text}")
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
    if throttle:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", THROTTLED)
    start = time.perf_counter()
    page.goto(url, wait_until=wait_until, timeout=120_000)
    visit.opened_s = time.perf_counter() - start
    return visit


def wait_until_settled(page, views: int) -> None:
    """Until every widget view is drawn, MathJax has typeset, fonts and images have loaded."""
    if views:
        page.wait_for_function(
            "(n) => document.querySelectorAll('.widget-subarea').length >= n"
            " && !document.querySelector('.nnscratch-reserves')",
            arg=views,
            timeout=WIDGET_TIMEOUT_MS,
        )
    page.wait_for_load_state("networkidle")
    page.evaluate(
        """async () => {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            await MathJax.startup.promise;
          }
          await document.fonts.ready;
          await Promise.all([...document.images].map((i) => i.decode().catch(() => null)));
        }"""
    )
    # A last frame for anything the above set off (MathJax's layout, the loader's checks).
    page.wait_for_timeout(300)


def layout_shift(page) -> float:
    return float(page.evaluate(CLS_JS))


def shifts(page) -> list[dict]:
    return page.evaluate("window.__shifts")


def page_weight(page) -> tuple[int, int]:
    """(bytes, requests) of everything the page fetched over HTTP, uncompressed."""
    entries = page.evaluate(WEIGHT_JS)
    return sum(size for _, size in entries), len(entries)


def heaviest(page, n: int = 5) -> list[tuple[str, int]]:
    entries = sorted(page.evaluate(WEIGHT_JS), key=lambda e: -e[1])
    return [(urlsplit(name).path, size) for name, size in entries[:n]]


def first_contentful_paint_s(page) -> float | None:
    value = page.evaluate(
        "(() => { const e = performance.getEntriesByName('first-contentful-paint')[0];"
        " return e ? e.startTime : null; })()"
    )
    return None if value is None else value / 1000


def sliders_usable_s(page) -> float | None:
    """When the loader script found every slider drawn with its frame (performance mark)."""
    value = page.evaluate(
        "(() => { const e = performance.getEntriesByName('nnscratch:sliders-usable')[0];"
        " return e ? e.startTime : null; })()"
    )
    return None if value is None else value / 1000


def axe_violations(page, tags: list[str] = AXE_TAGS) -> list[dict]:
    """axe-core's violations of the rules with `tags` (WCAG 2.0/2.1 A and AA) on the page now."""
    if not AXE.is_file():
        raise RuntimeError(f"{AXE} is missing: run `make assets` (npm ci) first")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
          const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary),
          }));
        }""",
        tags,
    )


def figure_text(page) -> list[dict]:
    """Every figure image with its smallest text as recorded and as displayed (CSS px)."""
    return page.evaluate(FIGURE_TEXT_JS, FIGURE_IMAGES)
