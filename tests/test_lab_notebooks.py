"""site/lab_notebooks.py: `make lab` refreshes its copies of the chapters, not readers' edits."""

from __future__ import annotations

from pathlib import Path

import lab_notebooks
import nbformat


def write(path: Path, *sources: str, output: str | None = None) -> None:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    if output:
        cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def test_copies_are_refreshed_unless_the_reader_edited_them(tmp_path: Path) -> None:
    sources, lab = tmp_path / "_sources", tmp_path / "lab"
    write(sources / "chapters" / "a.ipynb", "x = 1")
    write(sources / "chapters" / "b.ipynb", "y = 1")
    lab_notebooks.sync(sources, lab, tmp_path)
    assert nbformat.read(lab / "a.ipynb", 4).cells[0].source == "x = 1"

    # The reader runs a (outputs only) and edits b; then the chapters change.
    write(lab / "a.ipynb", "x = 1", output="1\n")
    write(lab / "b.ipynb", "y = 'mine'")
    write(sources / "chapters" / "a.ipynb", "x = 2")
    write(sources / "chapters" / "b.ipynb", "y = 2")
    log = lab_notebooks.sync(sources, lab, tmp_path)

    assert nbformat.read(lab / "a.ipynb", 4).cells[0].source == "x = 2"
    assert nbformat.read(lab / "b.ipynb", 4).cells[0].source == "y = 'mine'"
    assert any("kept your edited" in line and "b.ipynb" in line for line in log)

    # Once the reader deletes the edited copy, the next sync brings the current chapter.
    (lab / "b.ipynb").unlink()
    lab_notebooks.sync(sources, lab, tmp_path)
    assert nbformat.read(lab / "b.ipynb", 4).cells[0].source == "y = 2"
