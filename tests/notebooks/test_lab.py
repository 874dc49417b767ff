"""`make lab` in a real browser: a chapter opens cleanly in JupyterLab and runs.

Starts JupyterLab with `make lab` itself (its setup, its folder of generated notebooks) on
127.0.0.1 at a free port, opens one chapter in headless Chromium (Debian's /usr/bin/chromium
driven by playwright; never `playwright install`), runs all cells from the Run menu, saves, and
checks that:

- every code cell ran and none ended in an error (in the saved notebook, read back from the
  server), and no traceback shows on the page;
- every widget output renders (no part replaced by ipywidgets' error placeholder, a picture
  shown), with at least one slider on screen;
- no raw MyST shows in any rendered Markdown cell, and all of them rendered;
- no request left 127.0.0.1, and saving changed no chapter source.

A screenshot of the chapter's first slider is saved to `_build/screenshots/lab-<chapter>.png`.
The chapter is the first one of the table of contents with a slider, or LAB_CHAPTER. Run with
`make lab-browser` (after a build) or `make test`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support import ROOT, SCREENSHOTS, WIDGET_MIME, chapter_with_slider

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # as in tests/site/harness.py (test folders import nothing from each other)
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LAB_DIR = ROOT / "_build" / "lab"
START_TIMEOUT_S = 600  # `make lab` builds the book first: quick when the build is current
RUN_TIMEOUT_S = 900

# Raw MyST in the text of rendered Markdown (code blocks left out: code may hold braces).
RAW_MYST = {
    "role": r"\{[A-Za-z][\w:+.\-]*\}(?=\S)",
    "label": r"^\s*\([\w\-:.]+\)=\s*$",
    "directive": r"^\s*(?:`{3,}|:{3,})\s*\{",
    "substitution": r"\{\{\s*[\w.\-]+\s*\}\}",
}
MARKDOWN_TEXT_JS = """
() => Array.from(document.querySelectorAll(".jp-MarkdownCell .jp-RenderedMarkdown")).map(el => {
  const copy = el.cloneNode(true);
  copy.querySelectorAll("pre").forEach(pre => pre.remove());
  return copy.innerText;
})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "chapters").glob("*.md")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


class Lab:
    """JupyterLab started by `make lab`, reachable through its REST API."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        args = (
            f"--no-browser --ServerApp.port={self.port} --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={self.token}"
        )
        self.log = log
        self.output = log.open("w")
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
            cwd=ROOT,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended as a whole below
        )

    def api(self, path: str, method: str = "GET") -> dict | list:
        request = urllib.request.Request(
            f"{self.base}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`make lab` exited:\n{self.log.read_text()[-4000:]}", pytrace=False)
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
        pytest.fail(f"JupyterLab did not start:\n{self.log.read_text()[-4000:]}", pytrace=False)

    def kernel_state(self, path: str) -> str | None:
        for session in self.api("sessions"):
            if session["path"] == path and session.get("kernel"):
                return session["kernel"]["execution_state"]
        return None

    def stop(self) -> None:
        try:
            self.api("shutdown", method="POST")  # stops the kernels too
            self.process.wait(timeout=30)
        except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
            pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.output.close()


@pytest.fixture
def lab(tmp_path: Path):
    server = Lab(tmp_path / "lab.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def test_a_chapter_runs_in_jupyterlab_from_make_lab(lab: Lab) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (`make test` does it)")
    from playwright.sync_api import sync_playwright

    chapter = chapter_with_slider()
    name = f"{Path(chapter).name}.ipynb"
    assert (LAB_DIR / name).is_file(), f"`make lab` did not put {name} in {LAB_DIR}"
    before = sources_digest()
    external: list[str] = []
    page_errors: list[str] = []

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            request_route.continue_()
        else:
            external.append(url)
            request_route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", route)
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        # `reset`: a fresh workspace, so that only this notebook is open.
        page.goto(f"{lab.base}/lab/tree/{name}?reset&token={lab.token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        wait_for(page, lambda: lab.kernel_state(name) == "idle", 120, "the kernel to start")

        # The notebook opens with the build's outputs and execution counts: clear them, so that
        # an execution count can only come from this run. Progress is read from the saved
        # notebook, not from the page: a cell whose input is collapsed (the chapter's hidden
        # code) does not update its prompt, and the kernel is briefly idle between cells.
        page.get_by_role("menuitem", name="Edit", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Clear Outputs of All Cells")).click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()  # focus, for Ctrl+S
        wait_for(page, lambda: lab.kernel_state(name) == "idle" and all_ran(page, lab, name),
                 RUN_TIMEOUT_S, "all cells to run", settle=2)  # fmt: skip
        notebook = lab.api(f"contents/{name}?content=1")["content"]

        code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
        not_run = [cell["source"][:60] for cell in code if cell["execution_count"] is None]
        assert not not_run, f"cells that did not run: {not_run}"
        errors = [
            f"{output['ename']}: {output['evalue']}"
            for cell in code
            for output in cell["outputs"]
            if output["output_type"] == "error"
        ]
        assert not errors, f"cells ended in an error: {errors}"
        tracebacks = page.locator(".jp-OutputArea-output", has_text="Traceback (most recent")
        assert tracebacks.count() == 0

        widgets = sum(WIDGET_MIME in o.get("data", {}) for c in code for o in c["outputs"])
        assert widgets >= 1, f"{chapter} shows no widget"
        views = page.locator(".jp-OutputArea-output > .jupyter-widgets")  # a widget's root view
        assert views.count() == widgets
        slider = page.locator(".jp-OutputArea-output .widget-slider").first
        slider.scroll_into_view_if_needed()
        slider.wait_for(state="visible", timeout=30_000)
        for index in range(widgets):
            view = views.nth(index)
            view.scroll_into_view_if_needed()
            box = view.bounding_box()
            assert box and box["height"] > 50, f"widget {index} did not render: {box}"
            # A view that failed shows ipywidgets' error placeholder instead of its pictures.
            failed = view.locator(".jupyter-widgets-error-widget").count()
            assert failed == 0, f"widget {index}: {failed} part(s) failed to render"
            pictures = view.locator("img").evaluate_all(
                "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length"
            )
            assert pictures >= 1, f"widget {index} shows no picture"
        # The first widget at the top of the screen, with the cell's prompt and what follows.
        views.first.evaluate("view => view.scrollIntoView({block: 'start'})")
        page.mouse.move(800, 450)
        page.mouse.wheel(0, -60)
        page.wait_for_timeout(500)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"lab-{Path(chapter).name}.png"))

        texts = page.evaluate(MARKDOWN_TEXT_JS)
        markdown_cells = sum(cell["cell_type"] == "markdown" for cell in notebook["cells"])
        assert len(texts) == markdown_cells, "not every Markdown cell rendered"
        raw = [
            f"{kind}: {match[0]!r}"
            for text in texts
            for kind, pattern in RAW_MYST.items()
            for match in re.finditer(pattern, text, re.MULTILINE)
        ]
        assert not raw, f"raw MyST on the page: {raw}"
        directive_blocks = page.locator('.jp-RenderedMarkdown pre code[class*="language-{"]')
        assert directive_blocks.count() == 0
        browser.close()

    assert not external, f"requests left 127.0.0.1: {external}"
    assert not page_errors, f"page errors: {page_errors}"
    assert sources_digest() == before, "saving in JupyterLab changed a chapter's .md"
    stray = [
        p.name for p in LAB_DIR.iterdir() if p.is_file() and p.suffix not in (".ipynb", ".json")
    ]
    assert not stray, f"files next to the lab notebooks (a paired text file?): {stray}"


def all_ran(page, lab: Lab, name: str) -> bool:
    """Save the notebook (Ctrl+S) and read it back: has every code cell an execution count?"""
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1000)
    content = lab.api(f"contents/{name}?content=1")["content"]
    code = [cell for cell in content["cells"] if cell["cell_type"] == "code"]
    return bool(code) and all(cell.get("execution_count") for cell in code)


def wait_for(page, condition, timeout_s: float, what: str, settle: int = 1) -> None:
    """Poll `condition` every second until it holds `settle` times in a row. The page waits,
    not Python: playwright's sync API handles the page's routed requests only in its calls."""
    deadline = time.monotonic() + timeout_s
    streak = 0
    while time.monotonic() < deadline:
        streak = streak + 1 if condition() else 0
        if streak >= settle:
            return
        page.wait_for_timeout(1000)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}", pytrace=False)
