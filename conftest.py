"""pytest configuration for the whole repository.

1. nbval runs the chapters straight from their MyST Markdown source:

       pytest --nbval-lax --nbval-current-env chapters/

   nbval only collects `.ipynb` files. Here a `.md` file whose front matter has `jupytext` and
   `kernelspec` sections is collected too, by nbval's own notebook collector reading the file
   through jupytext. Every code cell becomes a test item run in one kernel, in order; in lax
   mode (the `.md` files carry no stored outputs) an item fails when its cell raises, which
   is how the chapters' hidden `assert` cells fail the tests.

2. The browser tests in `tests/site/` need a built site (`_build/html`) and Chromium, and the
   tests of the downloadable notebooks in `tests/notebooks/` need the built site (and a fresh
   venv, JupyterLab, Chromium), so they run only when named on the command line (`pytest
   tests/site`, `pytest tests/notebooks/...`, as `make test` does), never as part of
   `pytest tests`.

3. One BLAS thread, as the Makefile sets it: the chapters' kernels inherit this process's
   environment, and a chapter run by `pytest` straight from a shell would otherwise get an
   OpenBLAS thread per core, whose spinning made chapter 1 about five times slower on this
   2-core machine when two chapters ran side by side.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

# The chapters' kernels start later, as child processes: they see these (item 3 above).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent
# Test folders collected only when named on the command line (they need a built site).
NAMED_ONLY = (ROOT / "tests" / "site", ROOT / "tests" / "notebooks")


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


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _named(config: pytest.Config, folder: Path) -> bool:
    """Whether the command line names `folder` or something inside it."""
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if _inside(path, folder):
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    for folder in NAMED_ONLY:
        if _inside(collection_path, folder) and not _named(config, folder):
            return True
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    skipped = [f.relative_to(ROOT).as_posix() for f in NAMED_ONLY if not _named(config, f)]
    if not skipped:
        return None
    return f"{', '.join(skipped)}: collected only when named (e.g. pytest {skipped[0]})"
