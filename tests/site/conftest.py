"""Fixtures for the browser tests: the built site, a local web server and headless Chromium.

The site is `_build/html` (from `make book` or `jupyter-book build .`), served on 127.0.0.1 at
a free port for the whole session (tests/site/harness.py). The browser is Debian's
`/usr/bin/chromium` driven by playwright; `playwright install` (which downloads a browser
build) is never used. Nothing is skipped: a missing site, browser or axe-core fails the run
with the command that fixes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import harness  # tests/site/harness.py, shared with benchmarks/bench_site.py
import pytest

SCREENSHOTS = harness.ROOT / "_build" / "screenshots"

# page -> what the tests measured there, printed at the end of the run
MEASUREMENTS = pytest.StashKey[dict[str, dict[str, object]]]()


@pytest.fixture(scope="session")
def site() -> Path:
    if not (harness.SITE / "index.html").is_file():
        pytest.fail(f"no built site in {harness.SITE}: run `make book` first", pytrace=False)
    return harness.SITE


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    with harness.serve(site) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    try:
        with harness.chromium() as browser:
            yield browser
    except RuntimeError as error:
        pytest.fail(f"{error} (`make test` installs it)", pytrace=False)


@pytest.fixture(scope="session")
def axe_available() -> None:
    if not harness.AXE.is_file():
        pytest.fail(f"{harness.AXE} is missing: run `make assets` (npm ci)", pytrace=False)


@pytest.fixture(scope="session")
def measurements(request: pytest.FixtureRequest) -> dict[str, dict[str, object]]:
    return request.config.stash.setdefault(MEASUREMENTS, {})


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _fmt(values: dict, key: str, spec: str, unit: str = "") -> str:
    value = values.get(key)
    return "-" if value is None else f"{value:{spec}}{unit}"


def pytest_terminal_summary(terminalreporter) -> None:
    measured = terminalreporter.config.stash.get(MEASUREMENTS, {})
    if not measured:
        return
    terminalreporter.section("site measurements (local server, empty cache)")
    terminalreporter.write_line(
        f"{'page':34s} {'weight':>9s} {'requests':>8s} {'shift':>6s} {'deep-link':>9s} "
        f"{'phone':>6s} {'axe':>4s} {'text@375':>8s} {'full size':>9s} {'figures':>7s}"
    )
    for page, values in sorted(measured.items()):
        megabytes = values.get("bytes")
        terminalreporter.write_line(
            f"{page:34s} "
            f"{'-' if megabytes is None else f'{megabytes / 1e6:.2f} MB':>9s} "
            f"{_fmt(values, 'requests', '.0f'):>8s} "
            f"{_fmt(values, 'shift', '.3f'):>6s} "
            f"{_fmt(values, 'shift_deep_link', '.3f'):>9s} "
            f"{_fmt(values, 'shift_phone', '.3f'):>6s} "
            f"{_fmt(values, 'axe', '.0f'):>4s} "
            f"{_fmt(values, 'text_px_phone', '.1f', ' px'):>8s} "
            f"{_fmt(values, 'text_px_full', '.1f', ' px'):>9s} "
            f"{values.get('sliders_in_figures', '-'):>7s}"
        )
    terminalreporter.write_line(
        "weight: bytes fetched, uncompressed; shift: cumulative layout shift (desktop, deep "
        "link below the last widget, phone); axe: WCAG 2.0/2.1 A/AA violations summed over "
        "light/dark x desktop/phone; text@375: smallest figure text as displayed on a 375 px "
        "phone; full size: the same text in the full-size view a tap opens; figures: "
        "sliders placed in a numbered figure, of all sliders."
    )
