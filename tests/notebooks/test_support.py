"""The helpers that the tests of the downloadable notebooks share (tests/notebooks/support.py)."""

from __future__ import annotations

import nbformat
import pytest
from support import printed_json


def _cell(*chunks: tuple[str, str]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("print(report)")
    cell.outputs = [nbformat.v4.new_output("stream", name=name, text=text) for name, text in chunks]
    return cell


def test_printed_json_joins_a_stream_split_into_chunks() -> None:
    # As nbclient once stored a report: the JSON in two chunks, then a bare newline.
    cell = _cell(("stdout", '{"cpu": 1.5, "glued": {"a'), ("stdout", '": "2"}}'), ("stdout", "\n"))
    assert printed_json(cell) == {"cpu": 1.5, "glued": {"a": "2"}}


def test_printed_json_reads_stdout_only() -> None:
    cell = _cell(("stderr", "a warning\n"), ("stdout", '{"cpu": 2}\n'), ("stderr", "more\n"))
    assert printed_json(cell) == {"cpu": 2}


def test_printed_json_of_a_single_chunk_and_of_no_output() -> None:
    assert printed_json(_cell(("stdout", "[1, 2]\n"))) == [1, 2]
    with pytest.raises(ValueError):
        printed_json(_cell())
