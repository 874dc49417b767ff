"""A build that failed leaves an output tree that the next build recovers from.

The book's own configuration, extensions and theme build a two-page book in a temporary
folder: first with a chapter that raises (the build fails, as a failing hidden check makes it
fail), then without it, into the same `_build`, with no `make clean` in between. Before the fix
in `site/book_pages.py`, the failed build left the logo as a *file* named `_build/html/_static`
and the second build failed on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

INTRO = """(intro)=
# A small book

One page that builds.
"""

RAISING = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter that fails

```{code-cell} ipython3
raise RuntimeError("this chapter fails on purpose")
```
"""


def toc(*files: str) -> str:
    entries = "".join(f"  - file: {name}\n" for name in files)
    return f"format: jb-book\nroot: intro\nchapters:\n{entries}"


def build(book: Path, toc_file: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", str(book), "--toc", str(toc_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture
def small_book(tmp_path: Path) -> Path:
    if not JUPYTER_BOOK.exists():
        pytest.fail(f"{JUPYTER_BOOK} is missing: run `make setup` (installs the book extra)")
    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    for name in ("site", "images"):
        (book / name).symlink_to(ROOT / name, target_is_directory=True)
    (book / "intro.md").write_text(INTRO, encoding="utf-8")
    (book / "raising.md").write_text(RAISING, encoding="utf-8")
    (book / "toc_fail.yml").write_text(toc("raising"), encoding="utf-8")
    (book / "other.md").write_text("# Another page\n\nIt builds too.\n", encoding="utf-8")
    (book / "toc_ok.yml").write_text(toc("other"), encoding="utf-8")
    return book


def test_a_failed_build_leaves_a_tree_the_next_build_recovers_from(small_book: Path) -> None:
    failed = build(small_book, small_book / "toc_fail.yml")
    assert failed.returncode != 0, "the chapter that raises should fail the build"
    assert "this chapter fails on purpose" in failed.stdout + failed.stderr
    static = small_book / "_build" / "html" / "_static"
    assert not static.is_file(), "the failed build left a file where the _static folder belongs"

    again = build(small_book, small_book / "toc_ok.yml")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert static.is_dir()
    assert (static / "logo.svg").is_file()
    assert (small_book / "_build" / "html" / "intro.html").is_file()
