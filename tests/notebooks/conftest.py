"""Fixtures for the tests of the notebooks readers download (and `make lab` opens).

The build writes each chapter as a standalone notebook to `_build/html/_sources/<page>.ipynb`
(site/ipynb_download.py). These tests read those files, so they need a built site (`make book`,
or the strict build `make test` runs first); a missing notebook fails with the command to run.

The chapters are the notebook pages of the table of contents the Makefile builds (`TOC`,
`_toc.yml` by default), so the tests follow the book as chapters come and go.

The minimal kernel is a venv made once per session in a temporary folder: the package's wheel
(built here) with its `notebook` extra, plus ipykernel to be a kernel, pinned by
constraints.txt, and nothing else. pip fetches them from the package index (quick with a warm
pip cache).
"""

from __future__ import annotations

import json
import shutil
import sys
import venv
from pathlib import Path

import pytest
from support import KERNEL_NAME, ROOT, SCREENSHOTS, SOURCES, MinimalKernel, run

TIMES = pytest.StashKey[dict[str, dict[str, float]]]()


@pytest.fixture(scope="session")
def generated():
    """The path of a chapter's generated notebook in the built site."""

    def path(docname: str) -> Path:
        found = SOURCES / f"{docname}.ipynb"
        if not found.is_file():
            pytest.fail(
                f"{found} is missing: build the book first (`make book`, or `make test`)",
                pytrace=False,
            )
        return found

    return path


@pytest.fixture(scope="session")
def minimal_kernel(tmp_path_factory: pytest.TempPathFactory) -> MinimalKernel:
    folder = tmp_path_factory.mktemp("minimal")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", folder, source)
    (wheel,) = folder.glob("nnscratch-*.whl")
    prefix = folder / "venv"
    venv.create(prefix, with_pip=True)
    kernel = MinimalKernel(prefix, wheel)
    constraints = ROOT / "constraints.txt"
    run(kernel.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "-c", constraints, f"{wheel}[notebook]", "ipykernel")  # fmt: skip
    run(kernel.python, "-m", "ipykernel", "install", "--prefix", prefix, "--name", KERNEL_NAME,
        "--display-name", "nnscratch (wheel + notebook extra)")  # fmt: skip
    return kernel


@pytest.fixture(scope="session")
def times(request: pytest.FixtureRequest) -> dict[str, dict[str, float]]:
    return request.config.stash.setdefault(TIMES, {})


def pytest_terminal_summary(terminalreporter) -> None:
    measured = terminalreporter.config.stash.get(TIMES, {})
    if not measured:
        return
    terminalreporter.section("downloaded notebooks in the minimal venv (nbclient, fresh kernel)")
    for chapter, values in measured.items():
        terminalreporter.write_line(
            f"{chapter:36s} {values['wall']:6.1f} s wall, {values['cpu']:6.1f} s kernel CPU"
        )
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "notebook-times.json").write_text(json.dumps(measured, indent=1))
