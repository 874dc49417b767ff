"""pytest configuration for the whole repository.

1. nbval runs the chapters straight from their MyST Markdown source:

       pytest --nbval-lax --nbval-current-env chapters/

   nbval only collects `.ipynb` files. Here a `.md` file whose front matter has `jupytext` and
   `kernelspec` sections is collected too, by nbval's own notebook collector reading the file
   through jupytext. Every code cell becomes a test item run in one kernel, in order; in lax
   mode (the `.md` files carry no stored outputs) an item fails when its cell raises, which
   is how the chapters' hidden `assert` cells fail the tests.

2. The browser tests in `tests/site/` need a built site (`_build/html`) and Chromium, so they
   run only when named on the command line (`pytest tests/site`, as `make test` does), never
   as part of `pytest tests`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parent
SITE_TESTS = ROOT / "tests" / "site"


def _is_myst_notebook(path: Path) -> bool:
    import jupytext

    metadata = jupytext.read(path).metadata
    return "jupytext" in metadata and "kernelspec" in metadata


@cache
def _myst_notebook_class() -> type:
    # Imported here, not at the top: plain unit-test runs need neither nbval nor jupytext.
    import jupytext
    import nbval.plugin

    def read(path, as_version=4):
        return jupytext.read(path, as_version=as_version)

    class MystNotebook(nbval.plugin.IPyNbFile):
        """nbval's notebook collector for a MyST Markdown notebook."""

        def collect(self):
            # nbval reads the file with `nbformat.read(path, as_version=4)`; for this file,
            # its `nbformat` is a stand-in whose `read` is jupytext's.
            with mock.patch.object(nbval.plugin, "nbformat", SimpleNamespace(read=read)):
                return list(super().collect())

    return MystNotebook


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    option = parent.config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return None
    if file_path.suffix != ".md" or not _is_myst_notebook(file_path):
        return None
    return _myst_notebook_class().from_parent(parent, path=file_path)


def _names_site_tests(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == SITE_TESTS or SITE_TESTS in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    inside = collection_path == SITE_TESTS or SITE_TESTS in collection_path.parents
    if inside and not _names_site_tests(config):
        return True
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    if _names_site_tests(config):
        return None
    return "tests/site/ (browser tests) is collected only when named: pytest tests/site"
