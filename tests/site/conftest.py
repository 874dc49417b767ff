"""Fixtures for the browser tests: the built site, a local web server and headless Chromium.

The site is `_build/html` (from `make book` or `jupyter-book build .`), served on 127.0.0.1 at
a free port for the whole session. The browser is Debian's `/usr/bin/chromium` driven by
playwright; `playwright install` (which downloads a browser build) is never used. Nothing is
skipped: a missing site or browser fails the run with the command that fixes it.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
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

# page -> {"bytes": ..., "requests": ..., "widgets_s": ..., "views": ...}, printed at the end
MEASUREMENTS = pytest.StashKey[dict[str, dict[str, float]]]()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site in {SITE}: run `make book` first", pytrace=False)
    return SITE


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    """The site served by a thread of this process on 127.0.0.1, at a port the OS picks."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: `apt-get install chromium` (as root; `make test` does it)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def measurements(request: pytest.FixtureRequest) -> dict[str, dict[str, float]]:
    return request.config.stash.setdefault(MEASUREMENTS, {})


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter) -> None:
    measured = terminalreporter.config.stash.get(MEASUREMENTS, {})
    if not measured:
        return
    terminalreporter.section("site measurements (first load, empty cache, local server)")
    for page, values in sorted(measured.items()):
        megabytes, requests = values["bytes"] / 1e6, values["requests"]
        parts = [f"{megabytes:6.2f} MB transferred in {requests:3.0f} requests"]
        if "widgets_s" in values:
            parts.append(f"{values['views']:.0f} widgets visible after {values['widgets_s']:.2f} s")
        terminalreporter.write_line(f"{page:40s} " + ", ".join(parts))
