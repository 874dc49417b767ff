"""The chapters' sources: every `literalinclude` shows code that exists.

The strict build warns about a `pyobject` it cannot find only after executing every chapter
(half an hour into `make test`); this finds the same mistake in a second, e.g. after a class
moves to another module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r"```\{literalinclude\} (\S+)\n((?::[^\n]*\n)*)")


def includes() -> list[tuple[str, int, Path, str | None]]:
    found = []
    for chapter in sorted((ROOT / "chapters").glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        for match in INCLUDE.finditer(text):
            options = dict(re.findall(r"^:(\w+):\s*(.*)$", match.group(2), re.MULTILINE))
            line = text.count("\n", 0, match.start()) + 1
            path = (chapter.parent / match.group(1)).resolve()
            found.append((chapter.name, line, path, options.get("pyobject")))
    return found


def defines(path: Path, dotted: str) -> bool:
    """Whether the Python file defines `dotted` (a class, function or `Class.method`)."""
    node: ast.AST = ast.parse(path.read_text(encoding="utf-8"))
    for name in dotted.split("."):
        children = [
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, (ast.ClassDef, ast.FunctionDef)) and child.name == name
        ]
        if not children:
            return False
        node = children[0]
    return True


def test_the_chapters_include_code() -> None:
    assert len(includes()) > 20  # the pattern finds them (chapters 2 and 3 alone have 20)


@pytest.mark.parametrize(("chapter", "line", "path", "pyobject"), includes())
def test_every_literalinclude_names_a_file_and_object_that_exist(chapter, line, path, pyobject):
    assert path.is_file(), f"{chapter}:{line} includes {path}, which does not exist"
    if pyobject:
        assert defines(path, pyobject), f"{chapter}:{line}: {path.name} defines no {pyobject}"


def test_the_object_check_can_fail() -> None:
    assert defines(ROOT / "src/nnscratch/batchnorm.py", "BatchNorm1d.forward")
    assert not defines(ROOT / "src/nnscratch/nn.py", "BatchNorm1d.forward")
