"""Turn a MyST Markdown chapter into a standalone Jupyter notebook that reads well anywhere.

The chapters are written for Jupyter Book: their Markdown is full of MyST syntax (roles such as
`{glue:text}`, `{ref}` and `{cite}`, directives such as `literalinclude`, `glue:figure` and
sphinx-exercise's `exercise` and `solution`) that plain Jupyter, Colab or VS Code show as raw
text, and their code imports `myst_nb`. This module rewrites a chapter, read by jupytext, into a
notebook in which:

- a glued value is replaced by its value (as the site shows it), and a glued figure or slider
  is shown by a small code cell where its `glue:figure` stood, followed by its caption;
- `glue` is a stand-in defined in the notebook itself, so no `myst_nb` is needed;
- included code (`literalinclude`) appears as code;
- cross-references become titles ("Fig. 5", the title of a chapter), linked to the website
  when the book has one; citations become author-year text with a reference list at the end;
- exercises become numbered headings, and their solutions collapsible `<details>` blocks
  (code cells of a solution are collapsed too);
- cells hidden on the website stay in: checks are marked as such, hidden inputs collapsed;
- admonitions become quotes (or `<details>` for dropdowns), labels and comments disappear.

The conversion is generic over MyST syntax, not tuned to any chapter's text: every role and
directive is handled by name, and one the module has no rule for keeps its text and is reported
through `Book.warn` (in the Sphinx build, a warning that fails the strict build).

Everything the conversion needs from the built book (glued outputs, titles and numbers of
targets, bibliography, included files) comes through the `Book` interface, which
`ipynb_download.py` implements on top of the Sphinx environment. Nothing here imports Sphinx,
so the conversion can be tested with a small fake book.
"""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import io
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Protocol

import nbformat
from nbformat import NotebookNode

METADATA_KEY = "standalone_notebook"  # notebook metadata written by this module
CHECK_TAG = "check"  # tag of a cell that holds the book's hidden assertions
GLUE_STORE = "glued"  # the dict in which the notebook's `glue` keeps the values
REFERENCES_HERE = "\x00references\x00"  # where a `bibliography` directive stood
# Front-matter key of a chapter: glued values that differ from run to run (timings), which a
# test of the notebook therefore does not expect to come out again.
RUN_DEPENDENT = "run_dependent_glue"

GLUE_SHIM = f'''\
# On the book's website, `glue(name, value)` (from the package myst_nb) pastes a computed value
# into the text or a figure. In this notebook the values are already written into the text,
# so this stand-in only keeps each value under its name, for the cells that show a figure.
import IPython.display

{GLUE_STORE} = {{}}


def glue(name, value, display=True):
    """Keep `value` under `name` and, unless display=False, show it (like myst_nb.glue)."""
    {GLUE_STORE}[name] = value
    if display:
        IPython.display.display(value)'''

# The first code cell of every download: one BLAS thread, as the book's Makefile sets, before
# NumPy is imported (OpenBLAS reads the variable once, when NumPy loads it).
SETUP_CELL = """\
# One BLAS thread, set before NumPy is imported, as the book's Makefile does: the book multiplies
# small matrices, where more threads cost more in synchronisation than they gain.
# On one machine every number comes out the same on every run. On another processor the last
# digits of some numbers differ (its BLAS kernel rounds float32 sums in another order), and so
# may a few digits of the text's numbers; every check in this notebook holds all the same: the
# book's CI runs them on two independent sets of seeds (NNSCRATCH_SEED_SET=0 and 1).
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")"""

CHECK_HEADER = "# Check (hidden on the book's website): asserts what the text says."
HIDDEN_HEADER = "# Hidden on the book's website: computes what the text or a figure shows."


@dataclass
class Target:
    """What a cross-reference points at, as the notebook shows it.

    Attributes:
        title: the target's title in Markdown (a section or chapter title, a caption).
        url: the target on the book's website, or None when the book has no website address.
        number: the target's number as the site shows it ("5", "3.2"), if it is numbered.
        numbered: the number in its label ("Fig. 5", "Exercise 7"), if it is numbered.
        chapter: the title of the chapter the target is in, when that is another chapter and
            the target is not the chapter itself; None otherwise.
        kind: "section", "figure", "table", "exercise", "equation", "term", "document", ...
    """

    title: str
    url: str | None = None
    number: str | None = None
    numbered: str | None = None
    chapter: str | None = None
    kind: str = "section"


@dataclass
class Reference:
    """A bibliography entry: `names` ("Srivastava et al."), `year`, and the full entry."""

    names: str
    year: str
    entry: str  # Markdown


class Book(Protocol):
    """What the conversion needs from the built book (implemented in ipynb_download.py)."""

    def glue(self, key: str, document: str | None = None) -> dict:
        """The glued mime bundle of `key` (in `document`, a path relative to this chapter, if
        given). Raises KeyError if there is none."""

    def reference(self, label: str) -> Target | None:
        """The target of a label (`{ref}`, `{numref}`, `[text](#label)`)."""

    def document(self, path: str) -> Target | None:
        """A chapter or page, by a path relative to this chapter (`{doc}`, Markdown links)."""

    def term(self, name: str) -> Target | None:
        """A glossary term."""

    def equation(self, label: str) -> Target | None:
        """A labelled equation."""

    def citation(self, key: str) -> Reference | None:
        """A bibliography entry, by its key."""

    def number(self, kind: str, index: int, label: str | None) -> str | None:
        """The label of the `index`-th numbered `kind` ("figure", "exercise", "table") of this
        chapter, in document order, or of the one labelled `label`: "Fig. 5"."""

    def include(self, path: str, options: dict[str, str]) -> str:
        """The text `literalinclude` shows for a file and the directive's options."""

    def read_file(self, path: str) -> bytes:
        """A file by a path relative to this chapter (images, included Markdown)."""

    def format_text(self, plain: str, spec: str) -> str:
        """A glued text/plain value formatted as `{glue:text}` formats it."""

    def warn(self, message: str) -> None:
        """Report something the conversion could not render faithfully."""


@dataclass
class Code:
    """A code cell to insert among the Markdown (a glued figure shown where it stood)."""

    source: str
    tags: list[str] = field(default_factory=list)


Piece = str | Code

FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE_RE = re.compile(r"^\{(?P<name>[^}\s]+)\}\s*(?P<arg>.*)$")
OPTION_RE = re.compile(r"^:(?P<key>[A-Za-z0-9_-][^:]*):(?:\s+(?P<value>.*))?$")
TARGET_RE = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
COMMENT_RE = re.compile(r"^\s*%")
BREAK_RE = re.compile(r"^\s*\+\+\+")
HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})\s+\S")
MATH_LABEL_RE = re.compile(r"\$\$\s*\((?P<label>[^()\s]+)\)\s*$")
FOOTNOTE_DEF_RE = re.compile(r"^\[\^(?P<name>[^\]\s]+)\]:\s?(?P<text>.*)$")
DEFINITION_RE = re.compile(r"^[:~][ \t]+(?P<text>.*)$")
ROLE_RE = re.compile(r"\{(?P<name>[A-Za-z0-9_][A-Za-z0-9_:+.\-]*)\}(?P<ticks>`+)")
SUBSTITUTION_RE = re.compile(r"\{\{\s*(?P<name>[A-Za-z0-9_.\-]+)\s*\}\}")
EXPLICIT_RE = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
LINK_RE = re.compile(
    r"(?P<bang>!?)\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]"
    r"\((?P<target><[^<>]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?P<title>\s+\"[^\"]*\")?\)"
)
FOOTNOTE_REF_RE = re.compile(r"\[\^(?P<name>[^\]\s]+)\](?!:)")
URL_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
    "todo": "To do",
    "versionadded": "New in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
}
# Directives rendered as a quote with their title in bold; as their body only; not at all.
QUOTES = set("epigraph pull-quote highlights topic sidebar margin aside card".split())
BODY_ONLY = set("div container grid grid-item tab-set only cssclass rst-class".split())
DROPPED = set(
    "tableofcontents toctree contents index highlight sectionauthor meta default-role role".split()
)
# Roles rendered as inline code: Sphinx's literal roles, and cross-references to Python objects.
CODE_ROLES = set("code literal samp file command program envvar option mimetype".split())
CODE_ROLES |= set("regexp makevar token keyword".split())
DOMAIN_ROLES = set("func class meth mod attr data exc obj const type".split())
LANGUAGES = {".py": "python", ".md": "markdown", ".toml": "toml", ".yml": "yaml", ".json": "json"}


def _code_span(text: str) -> str:
    """`text` as an inline code span, with enough backticks to hold any inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fence(code: str, language: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"^`{3,}", code, re.MULTILINE)), default=2)
    ticks = "`" * (longest + 1)
    return f"{ticks}{language}\n{code.rstrip()}\n{ticks}"


def _escape(text: str) -> str:
    """Plain text (a pasted value) safe to put in Markdown."""
    return re.sub(r"([\\`*_\[\]<>|$#])", r"\\\1", text)


def _join(pieces: Iterable[str]) -> str:
    return "\n\n".join(piece.strip("\n") for piece in pieces if piece.strip())


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def _details(summary: str, body: str) -> str:
    # Blank lines around the body let Markdown inside the HTML block render as Markdown.
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def _explicit(content: str) -> tuple[str | None, str]:
    """Split a role's `text <target>` into (text, target); (None, content) without text."""
    match = EXPLICIT_RE.match(content.strip())
    if match and match["text"]:
        return match["text"], match["target"].strip()
    return None, content.strip()


def _has_assertion(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (magics): look at the words instead
        return bool(re.search(r"^\s*assert\b|\bassert_\w+\(", source, re.MULTILINE))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name.startswith("assert"):
                return True
    return False


@dataclass
class _Directive:
    name: str
    argument: str
    options: dict[str, str]
    body: str


def _parse_directive(name: str, argument: str, lines: list[str]) -> _Directive:
    """Options (`:key: value` lines, or a `---` YAML block) and body of a directive."""
    options: dict[str, str] = {}
    rest = list(lines)
    if rest and rest[0].strip() == "---":
        end = next((i for i in range(1, len(rest)) if rest[i].strip() == "---"), None)
        if end is not None:
            import yaml

            loaded = yaml.safe_load("\n".join(rest[1:end])) or {}
            if isinstance(loaded, dict):
                options = {str(k): "" if v is None else str(v) for k, v in loaded.items()}
            rest = rest[end + 1 :]
    else:
        while rest and (match := OPTION_RE.match(rest[0].strip())):
            options[match["key"]] = (match["value"] or "").strip()
            rest = rest[1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    return _Directive(name, argument.strip(), options, "\n".join(rest).rstrip())


class Converter:
    """Converts one chapter (a notebook read by jupytext) into a standalone notebook.

    Args:
        book: the built book, for everything the chapter's MyST refers to.
        source: the chapter's path, recorded in the notebook's metadata.
        intro: Markdown of the first cell (where the book lives, how to install the package).
        deflist: whether MyST's definition-list syntax is enabled for the book.
        substitutions: the book's `{{ name }}` substitutions.
    """

    def __init__(
        self,
        book: Book,
        *,
        source: str = "",
        intro: str = "",
        deflist: bool = True,
        substitutions: dict[str, str] | None = None,
    ) -> None:
        self.book = book
        self.source = source
        self.intro = intro
        self.deflist = deflist
        self.substitutions = dict(substitutions or {})
        self.heading_level = 1
        self.counters: dict[str, int] = {}
        self.cited: list[str] = []
        self.references_placed = False
        self.footnotes: dict[str, str] = {}
        self.footnote_numbers: dict[str, int] = {}
        self.attachments: dict[str, dict[str, str]] = {}
        self.pasted: list[dict[str, str | None]] = []
        self.uses_glue = False
        self.solution: str | None = None  # summary of the open gated solution
        self.solution_parts = 0

    # -- the notebook ------------------------------------------------------------------------

    def convert(self, notebook: NotebookNode) -> NotebookNode:
        """The standalone notebook for `notebook` (a chapter read by jupytext)."""
        cells: list[NotebookNode] = []
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cells.extend(self._markdown_cell(cell.source, dict(cell.metadata)))
            elif cell.cell_type == "code":
                cells.extend(self._code_cell(cell))
            else:
                cells.append(nbformat.v4.new_raw_cell(cell.source, metadata=dict(cell.metadata)))
        if self.solution is not None:
            self.book.warn("solution-start without a solution-end")
        tail = []
        if self.footnotes:
            notes = [
                f"{self.footnote_numbers[name]}. {self._inline(text)}"
                for name, text in sorted(
                    self.footnotes.items(), key=lambda kv: self.footnote_numbers.get(kv[0], 0)
                )
                if name in self.footnote_numbers
            ]
            tail.append("## Notes\n\n" + "\n".join(notes))
        if self.cited and not self.references_placed:
            tail.append("## References\n\n" + self._reference_list(self.cited))
        cells.extend(self._markdown(text) for text in tail)
        if self.references_placed:  # where the chapter has its own `bibliography` directive
            references = self._reference_list(self.cited)
            for cell in cells:
                if cell.cell_type == "markdown":
                    cell.source = cell.source.replace(REFERENCES_HERE, references)

        head = [self._markdown(self.intro)] if self.intro else []
        first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), 0)
        if self.uses_glue:
            shim = nbformat.v4.new_code_cell(GLUE_SHIM, metadata={"tags": ["glue-stand-in"]})
            cells.insert(first_code, shim)
        if any(c.cell_type == "code" for c in cells):
            setup = nbformat.v4.new_code_cell(SETUP_CELL, metadata={"tags": ["blas-setup"]})
            cells.insert(first_code, setup)
        cells = head + cells
        for index, cell in enumerate(cells):
            digest = hashlib.sha1(cell.source.encode()).hexdigest()[:8]
            cell["id"] = f"c{index:03d}-{digest}"  # stable ids: the same chapter, the same file

        varies = set(notebook.metadata.get(RUN_DEPENDENT) or [])
        for pasted in self.pasted:
            pasted["varies"] = pasted["key"] in varies
        unknown = sorted(varies - {p["key"] for p in self.pasted})
        if unknown:
            self.book.warn(f"{RUN_DEPENDENT} names values the text does not quote: {unknown}")
        metadata = {
            key: value
            for key, value in notebook.metadata.items()
            if key not in ("jupytext", METADATA_KEY, RUN_DEPENDENT)
        }
        metadata.setdefault("language_info", {"name": "python"})
        kernelspec = dict(metadata.get("kernelspec") or {"name": "python3"})
        kernelspec.setdefault("display_name", "Python 3")
        # Without a language, JupyterLab asks the reader to pick a kernel instead of starting it.
        kernelspec.setdefault("language", metadata["language_info"].get("name", "python"))
        metadata["kernelspec"] = kernelspec
        metadata[METADATA_KEY] = {"source": self.source, "pasted": self.pasted}
        result = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
        result.nbformat_minor = 5
        return result

    def _markdown(self, text: str, metadata: dict | None = None) -> NotebookNode:
        cell = nbformat.v4.new_markdown_cell(text, metadata=dict(metadata or {}))
        names = [n for n in self.attachments if f"(attachment:{n}" in text]
        if names:
            cell["attachments"] = {n: self.attachments[n] for n in names}
        return cell

    def _markdown_cell(self, source: str, metadata: dict) -> list[NotebookNode]:
        """A source Markdown cell as Markdown cells and code cells (for glued figures)."""
        cells: list[NotebookNode] = []
        text: list[str] = []

        def flush() -> None:
            joined = _join(text)
            text.clear()
            if not joined:
                return
            if self.solution is not None:
                summary = self.solution + (" (continued)" if self.solution_parts else "")
                self.solution_parts += 1
                joined = _details(summary, joined)
            cells.append(self._markdown(joined, metadata))

        for piece in self._blocks(source, nested=False):
            if isinstance(piece, Code):
                flush()
                meta: dict = {"tags": list(piece.tags)}
                if self.solution is not None:
                    meta["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
                cells.append(nbformat.v4.new_code_cell(piece.source, metadata=meta))
            elif isinstance(piece, _Gate):
                flush()
                self.solution, self.solution_parts = piece.summary, 0
            else:
                text.append(piece)
        flush()
        return cells

    def _code_cell(self, cell: NotebookNode) -> list[NotebookNode]:
        source = self._without_myst_nb(cell.source)
        metadata = {k: v for k, v in cell.metadata.items()}
        tags = list(metadata.get("tags", []))
        jupyter = dict(metadata.get("jupyter", {}))
        lines = []
        if "remove-cell" in tags:
            check = _has_assertion(source)
            lines.append(CHECK_HEADER if check else HIDDEN_HEADER)
            if check:
                tags.append(CHECK_TAG)
        if {"hide-input", "remove-input", "hide-cell"} & set(tags):
            jupyter["source_hidden"] = True
        if {"hide-output", "remove-output", "hide-cell"} & set(tags):
            jupyter["outputs_hidden"] = True
        if self.solution is not None:
            lines.append(f"# {self.solution}")
            jupyter.update(source_hidden=True, outputs_hidden=True)
        if re.search(r"\bglue\(", source):
            self.uses_glue = True
        if tags:
            metadata["tags"] = tags
        if jupyter:
            metadata["jupyter"] = jupyter
        body = "\n".join(lines + [source]) if lines else source
        cells = [nbformat.v4.new_code_cell(body, metadata=metadata)]
        # myst-nb's cell-level figure options: the cell's output becomes a numbered figure.
        options = metadata.get("mystnb", metadata.get("myst", {}))
        figure = options.get("figure") if isinstance(options, dict) else None
        if isinstance(figure, dict) and figure.get("caption"):
            label = self._count("figure", figure.get("name"))
            cells.append(self._markdown(self._caption(label, str(figure["caption"]), "")))
        return cells

    def _without_myst_nb(self, source: str) -> str:
        """The cell's code without `from myst_nb import glue` (the notebook defines `glue`)."""
        out = []
        for line in source.split("\n"):
            match = re.match(r"^(?P<indent>\s*)from\s+myst_nb\s+import\s+(?P<names>.+)$", line)
            if match:
                names = [n.strip() for n in match["names"].strip("() ").split(",") if n.strip()]
                kept = []
                for name in names:
                    parts = name.split()
                    if parts[0] != "glue":
                        kept.append(name)
                    elif len(parts) == 3 and parts[1] == "as":
                        out.append(f"{match['indent']}{parts[2]} = glue")
                self.uses_glue = True
                if kept:
                    self.book.warn(f"myst_nb names other than glue cannot be replaced: {kept}")
                    out.append(f"{match['indent']}from myst_nb import {', '.join(kept)}")
                continue
            if re.match(r"^\s*import\s+myst_nb\s*$", line):
                self.uses_glue = True
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}myst_nb = __import__('types').SimpleNamespace(glue=glue)")
                continue
            out.append(line)
        return "\n".join(out)

    # -- blocks ------------------------------------------------------------------------------

    def _blocks(self, text: str, nested: bool) -> list[Piece | _Gate]:
        """Markdown text as pieces: Markdown strings, code cells and solution gates."""
        lines = text.split("\n")
        pieces: list[Piece | _Gate] = []
        plain: list[str] = []
        i = 0
        while i < len(lines):
            match = FENCE_RE.match(lines[i])
            fence = match["fence"] if match else ""
            info = match["info"].strip() if match else ""
            if match and (fence[0] != "`" or "`" not in info) and (fence[0] != ":" or info):
                close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
                end = i + 1
                while end < len(lines) and not close.match(lines[end]):
                    end += 1
                # The body without the fence's own indentation (a fence inside a list item).
                indent = len(match["indent"])
                body = [
                    line[indent:] if not line[:indent].strip() else line.lstrip()
                    for line in lines[i + 1 : end]
                ]
                directive = DIRECTIVE_RE.match(info)
                if directive:
                    pieces.append(self._text(plain))
                    plain = []
                    parsed = _parse_directive(directive["name"], directive["arg"], body)
                    rendered = self._directive(parsed, nested)
                    if match["indent"]:
                        rendered = [
                            _indent(p, match["indent"]) if isinstance(p, str) else p
                            for p in rendered
                        ]
                    pieces.extend(rendered)
                elif fence[0] == ":":  # a colon fence without a directive: keep its text
                    plain.extend(body)
                else:  # a code block: verbatim, out of reach of the inline rules
                    pieces.append(self._text(plain))
                    plain = []
                    pieces.append("\n".join(lines[i : end + 1]))
                i = end + 1
            else:
                plain.append(lines[i])
                i += 1
        pieces.append(self._text(plain))
        return [p for p in pieces if not (isinstance(p, str) and not p.strip())]

    def _text(self, lines: list[str]) -> str:
        """Plain Markdown lines (no fences): line-level MyST syntax, then inline syntax."""
        out: list[str] = []
        in_footnote: str | None = None
        in_math = False
        for line in lines:
            if in_footnote is not None:
                if line.startswith(("    ", "\t")):  # the definition goes on
                    self.footnotes[in_footnote] += "\n" + line.strip()
                    continue
                in_footnote = None
            if TARGET_RE.match(line) or COMMENT_RE.match(line):
                continue
            if BREAK_RE.match(line):
                out.append("")
                continue
            heading = HEADING_RE.match(line)
            if heading and not in_math:
                self.heading_level = len(heading["hashes"])
            footnote = FOOTNOTE_DEF_RE.match(line)
            if footnote and not in_math:
                in_footnote = footnote["name"]
                self.footnotes[in_footnote] = footnote["text"]
                continue
            if line.count("$$") % 2 == 1:
                in_math = not in_math
            label = MATH_LABEL_RE.search(line)
            if label:
                target = self.book.equation(label["label"])
                tag = f" \\tag{{{target.number}}}" if target and target.number else ""
                line = line[: label.start()] + f"{tag} $$"
                in_math = False
            out.append(line)
        if self.deflist:
            out = self._definitions(out)
        return self._inline("\n".join(out))

    def _definitions(self, lines: list[str]) -> list[str]:
        """MyST definition lists (`Term` then `: definition`) as bold terms and paragraphs."""
        out: list[str] = []
        in_definition = False
        for line in lines:
            match = DEFINITION_RE.match(line)
            previous = next((j for j in range(len(out) - 1, -1, -1) if out[j].strip()), None)
            if match and previous is not None and not in_definition:
                term = out[previous]
                if not term.startswith("**"):
                    out[previous] = f"**{term.strip()}**  "  # a hard line break after it
                out.append(match["text"])
                in_definition = True
            elif match and in_definition:
                out.append("")
                out.append(match["text"])
            elif in_definition and line.startswith((" ", "\t")) and line.strip():
                out.append(line.strip())
            else:
                in_definition = False
                out.append(line)
        return out

    # -- inline ------------------------------------------------------------------------------

    def _inline(self, text: str) -> str:
        """Inline MyST: roles, substitutions, links; code spans and maths are left alone."""
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            char = text[i]
            if char == "\\" and i + 1 < n:
                out.append(text[i : i + 2])
                i += 2
            elif char == "`":
                run = re.match(r"`+", text[i:])[0]
                end = _closing_ticks(text, i + len(run), run)
                stop = end + len(run) if end is not None else i + len(run)
                out.append(text[i:stop])
                i = stop
            elif char == "$":
                stop = _math_end(text, i)
                out.append(text[i:stop])
                i = stop
            elif char == "{" and (role := ROLE_RE.match(text, i)):
                ticks = role["ticks"]
                end = _closing_ticks(text, role.end(), ticks)
                if end is None:
                    out.append(text[i : role.end()])
                    i = role.end()
                    continue
                out.append(self._role(role["name"], text[role.end() : end]))
                i = end + len(ticks)
            elif char == "{" and (sub := SUBSTITUTION_RE.match(text, i)):
                name = sub["name"]
                if name in self.substitutions:
                    out.append(self._inline(str(self.substitutions[name])))
                else:
                    self.book.warn(f"no substitution named {name!r}")
                    out.append(name)
                i = sub.end()
            elif char in "![" and (link := LINK_RE.match(text, i)):
                out.append(self._link(link))
                i = link.end()
            elif char == "[" and (note := FOOTNOTE_REF_RE.match(text, i)):
                name = note["name"]
                number = self.footnote_numbers.setdefault(name, len(self.footnote_numbers) + 1)
                out.append(f"<sup>{number}</sup>")
                i = note.end()
            else:
                out.append(char)
                i += 1
        return "".join(out)

    def _link(self, link: re.Match) -> str:
        target = link["target"].strip("<>")
        text = link["text"]
        if link["bang"]:
            if URL_SCHEME_RE.match(target):
                return link[0]
            name = self._attach(target)
            return f"![{text}](attachment:{name})" if name else text
        label = self._inline(text)
        if URL_SCHEME_RE.match(target) and not target.startswith(("project:", "path:")):
            return f"[{label}]({target})"
        resolved = self._resolve_link(target)
        if resolved is None:
            self.book.warn(f"link target {target!r} is not in the book")
            return label
        shown = label or resolved.title
        return f"[{shown}]({resolved.url})" if resolved.url else shown

    def _resolve_link(self, target: str) -> Target | None:
        target = target.removeprefix("project:").removeprefix("path:")
        path, _, anchor = target.partition("#")
        if not path:
            return self.book.reference(anchor) if anchor else None
        found = self.book.document(path)
        if found is None:
            return None
        if anchor:
            section = self.book.reference(anchor)
            if section is not None:
                return section
        return found

    # -- roles -------------------------------------------------------------------------------

    def _role(self, name: str, content: str) -> str:
        name = name.removeprefix("std:")
        if name in ("glue", "glue:", "glue:any", "glue:text", "glue:md"):
            return self._glue_role(name, content)
        if name in ("ref", "numref", "doc", "term", "eq", "any", "prf:ref"):
            return self._reference_role(name, content)
        if name == "cite" or name.startswith(("cite:", "footcite")):
            return self._cite(name, content)
        if name in ("math", "m"):
            return f"${content}$"
        if name in ("sub", "subscript"):
            return f"<sub>{self._inline(content)}</sub>"
        if name in ("sup", "superscript"):
            return f"<sup>{self._inline(content)}</sup>"
        if name == "kbd":
            return " + ".join(f"<kbd>{key}</kbd>" for key in content.split("+"))
        if name in CODE_ROLES:
            return _code_span(content)
        if name in ("guilabel", "menuselection"):
            return "**" + content.replace("-->", "→").replace("&", "") + "**"
        if name in ("abbr", "index", "download", "u", "title-reference", "t", "dfn", "emphasis"):
            text, target = _explicit(content)
            shown = text if text is not None else target
            if name == "index":
                shown = shown.split(";")[0].lstrip("!").strip()
            return f"*{shown}*" if name in ("dfn", "emphasis", "title-reference", "t") else shown
        if name == "strong":
            return f"**{content}**"
        if name in ("del", "strike"):
            return f"~~{content}~~"
        if name in ("pep", "rfc"):
            number = content.split("#")[0].strip()
            url = (
                f"https://peps.python.org/pep-{int(number):04d}/"
                if name == "pep"
                else f"https://www.rfc-editor.org/rfc/rfc{number}"
            )
            return f"[{name.upper()} {number}]({url})"
        bare = name.split(":")[-1]
        if ":" in name or bare in DOMAIN_ROLES:  # py:func, func, class, ...: the name as code
            text, target = _explicit(content)
            if text is None:
                target = target.lstrip("!")
                text = target.split(".")[-1] if target.startswith("~") else target
                text = text.lstrip("~")
            return _code_span(text)
        self.book.warn(f"no notebook form for the role {{{name}}}: kept its text")
        return content

    def _glue_role(self, name: str, content: str) -> str:
        key, spec = content.strip(), ""
        if name in ("glue:text", "glue:md") and ":" in key:
            key, _, spec = key.rpartition(":")  # as myst-nb splits `key:format`
        document, _, bare = key.rpartition("::")
        try:
            data = self.book.glue(bare, document or None)
        except KeyError:
            self.book.warn(f"no glued value {key!r}")
            return _escape(key)
        plain = str(data.get("text/plain", ""))
        if name == "glue:md":
            value = str(data.get("text/markdown", plain))
            text = self._inline(value)
        elif name == "glue:text":
            value = self.book.format_text(plain, spec or "s")
            text = _escape(value)
        elif "text/markdown" in data:
            value = str(data["text/markdown"])
            text = self._inline(value)
        elif "text/latex" in data:
            value = text = str(data["text/latex"])
        elif "image/png" in data and not document:
            value, text = plain, self._static_image(bare, data, alt=bare)
        else:
            value = plain
            text = _escape(plain)
        # Recorded so that a test can run the notebook and compare with what it computes.
        self.pasted.append(
            {
                "key": bare,
                "document": document or None,
                "role": name,
                "format": spec,
                "plain": plain,
                "value": value,
            }
        )
        return text

    def _reference_role(self, name: str, content: str) -> str:
        text, label = _explicit(content)
        if name == "doc":
            target = self.book.document(label)
        elif name == "term":
            target = self.book.term(label)
        elif name == "eq":
            target = self.book.equation(label)
        elif name == "any":
            target = (
                self.book.reference(label) or self.book.term(label) or self.book.document(label)
            )
        else:
            target = self.book.reference(label.lstrip("~"))
        if target is None:
            return self._inline(text) if text else _escape(label)
        if name == "eq":
            shown = f"({target.number})" if target.number else target.title
        elif name == "numref":
            number = target.number or "?"
            if text:
                shown = (
                    self._inline(text)
                    .replace("{number}", number)
                    .replace("%s", number)
                    .replace("{name}", target.title)
                )
            else:
                shown = target.numbered or target.title
        elif text:
            shown = self._inline(text)
        elif name == "term":
            shown = label
        elif target.kind == "exercise" and target.numbered:
            shown = target.numbered
        else:
            shown = target.title
        if text or name not in ("ref", "doc", "any") or target.kind not in ("section", "document"):
            return f"[{shown}]({target.url})" if target.url else shown
        # A section or chapter title, set off as a title, with the chapter it is in.
        where = f" (in *{target.chapter}*)" if target.chapter else ""
        return (f"[{shown}]({target.url})" if target.url else f"*{shown}*") + where

    def _cite(self, name: str, content: str) -> str:
        # `{cite:p}`{see}key1,key2`` takes a pre/post note; the keys are what matters here.
        keys = [k.strip() for k in re.sub(r"\{[^}]*\}", "", content).split(",") if k.strip()]
        found: list[tuple[str, Reference | None]] = []
        for key in keys:
            entry = self.book.citation(key)
            if entry is not None and key not in self.cited:
                self.cited.append(key)
            found.append((key, entry))
        style = name.split(":", 1)[1] if ":" in name else "p"
        parts = []
        for key, entry in found:
            if entry is None:
                parts.append(key)
            elif style in ("t", "ts"):
                parts.append(f"{entry.names} ({entry.year})")
            elif style in ("author", "authors", "authorpar", "authorspar"):
                parts.append(entry.names)
            elif style in ("year", "yearpar"):
                parts.append(entry.year)
            elif style == "label":
                parts.append(key)
            else:
                parts.append(f"{entry.names} {entry.year}")
        if style in ("t", "ts", "author", "authors", "year", "text", "label"):
            return "; ".join(parts)
        return "(" + "; ".join(parts) + ")"

    def _reference_list(self, keys: Iterable[str]) -> str:
        entries = [(key, self.book.citation(key)) for key in keys]
        found = sorted(
            ((key, entry) for key, entry in entries if entry is not None),
            key=lambda item: (item[1].names.lower(), item[1].year, item[0]),
        )
        lines = []
        for _, entry in found:
            text = " ".join(entry.entry.split())
            lines.append(f"- **{entry.names} ({entry.year}).** {text}")
        return "\n".join(lines)

    # -- directives --------------------------------------------------------------------------

    def _directive(self, d: _Directive, nested: bool) -> list[Piece | _Gate]:
        name = d.name
        if name in ("exercise", "exercise-start"):
            return self._exercise(d)
        if name == "exercise-end":
            return []
        if name == "solution":
            if "hidden" in d.options:
                return []
            body = self._flat(d.body)
            return [_details(self._solution_summary(d.argument), body)]
        if name == "solution-start":
            if "hidden" in d.options:
                return []
            return [_Gate(self._solution_summary(d.argument))]
        if name == "solution-end":
            return [_Gate(None)]
        if name in ("glue:figure", "glue", "glue:", "glue:any"):
            return self._glue_figure(d, nested)
        if name == "glue:math":
            return [self._glue_math(d)]
        if name == "glue:md":
            document, _, key = d.argument.rpartition("::")
            try:
                data = self.book.glue(key, document or None)
            except KeyError:
                self.book.warn(f"no glued value {d.argument!r}")
                return []
            return [self._flat(str(data.get("text/markdown", "")))]
        if name == "literalinclude":
            return [self._literal_include(d)]
        if name in ("code-block", "code", "sourcecode"):
            caption = d.options.get("caption")
            code = _fence(d.body, d.argument)
            return [f"**{self._inline(caption)}**\n\n{code}" if caption else code]
        if name == "math":
            return [self._math(d)]
        if name in ("figure", "image"):
            return [self._figure(d)]
        if name in ("table", "list-table", "csv-table"):
            return [self._table(d)]
        if name == "bibliography":
            self.references_placed = True
            return [REFERENCES_HERE]
        if name == "glossary":
            return [self._glossary(d.body)]
        if name == "include":
            return self._include(d)
        if name == "raw":
            return [d.body] if d.argument.strip().lower() == "html" else []
        if name in DROPPED:
            return []
        if name == "rubric":
            return [f"**{self._inline(d.argument)}**"]
        if name in ADMONITIONS or name == "admonition" or name.startswith("admonition"):
            return [self._admonition(d)]
        if name in ("dropdown", "toggle"):
            title = self._inline(d.argument) if d.argument else "Show"
            return [_details(title, self._flat(d.body))]
        if name in QUOTES:
            title = f"**{self._inline(d.argument)}**\n\n" if d.argument else ""
            return [_quote(title + self._flat(d.body))]
        if name == "tab-item":
            return [f"**{self._inline(d.argument)}**\n\n{self._flat(d.body)}"]
        if name in BODY_ONLY:
            return self._blocks(d.body, nested)
        if name.startswith("prf:"):
            kind = name.split(":", 1)[1].replace("-", " ").capitalize()
            title = f"**{kind}" + (f" ({self._inline(d.argument)})" if d.argument else "") + "**"
            return [f"{title}\n\n{self._flat(d.body)}"]
        self.book.warn(f"no notebook form for the directive {{{name}}}: kept its text")
        title = f"**{self._inline(d.argument)}**\n\n" if d.argument else ""
        return [title + self._flat(d.body)]

    def _flat(self, text: str) -> str:
        """Markdown of a container's body (where a glued figure can only be a static image)."""
        return _join(p for p in self._blocks(text, nested=True) if isinstance(p, str))

    def _count(self, kind: str, label: str | None) -> str | None:
        index = self.counters.get(kind, 0)
        self.counters[kind] = index + 1
        return self.book.number(kind, index, label)

    def _exercise(self, d: _Directive) -> list[Piece | _Gate]:
        numbered = (
            None if "nonumber" in d.options else self._count("exercise", d.options.get("label"))
        )
        if "hidden" in d.options:
            return []
        title = numbered or "Exercise"
        if d.argument:
            title += f" ({self._inline(d.argument)})"
        level = min(self.heading_level + 1, 6)
        return [f"{'#' * level} {title}", *self._blocks(d.body, nested=True)]

    def _solution_summary(self, label: str) -> str:
        target = self.book.reference(label) if label else None
        exercise = target.numbered if target and target.numbered else "the exercise"
        return f"Solution to {exercise}"

    def _glue_figure(self, d: _Directive, nested: bool) -> list[Piece]:
        document, _, key = d.argument.rpartition("::")
        try:
            data = self.book.glue(key, document or None)
        except KeyError:
            self.book.warn(f"no glued value {d.argument!r}")
            data = {}
        label = None
        if d.name == "glue:figure" and d.body:  # Sphinx numbers only captioned figures
            label = self._count("figure", d.options.get("name"))
        caption = self._caption(label, d.body, d.options.get("alt", "")) if d.body else ""
        if nested or document or not data:
            # Inside a container no code cell can go (nor for another chapter's value): the
            # glued picture itself, as an attachment.
            static = self._static_image(key, data, d.options.get("alt", ""))
            return [_join([static, caption])]
        self.uses_glue = True
        where = f"  # {label}" if label else ""
        code = Code(f"{GLUE_STORE}[{key!r}]{where}", tags=["glued-figure"])
        return [code, caption] if caption else [code]

    def _static_image(self, key: str, data: dict, alt: str) -> str:
        for mime in ("image/png", "image/jpeg", "image/svg+xml", "image/gif"):
            if mime in data:
                payload = data[mime]
                if mime == "image/svg+xml":
                    payload = base64.b64encode(str(payload).encode()).decode()
                name = (
                    f"{re.sub(r'[^A-Za-z0-9_.-]', '-', key)}{mimetypes.guess_extension(mime) or ''}"
                )
                self.attachments[name] = {mime: "".join(str(payload).split())}
                return f"![{_escape(alt or key)}](attachment:{name})"
        if "application/vnd.jupyter.widget-view+json" in data:
            self.book.warn(f"the widget {key!r} is inside a container: shown as a note only")
            return f"*(An interactive figure: run `{GLUE_STORE}[{key!r}]` in a code cell.)*"
        return _escape(str(data.get("text/plain", ""))) if data else ""

    def _caption(self, label: str | None, body: str, alt: str) -> str:
        text = self._flat(body)
        prefix = f"**{label}.** " if label else ""
        caption = prefix + text
        if alt:
            caption += "\n\n" + _details("Description of the figure", _escape(alt))
        return caption

    def _glue_math(self, d: _Directive) -> str:
        document, _, key = d.argument.rpartition("::")
        try:
            data = self.book.glue(key, document or None)
        except KeyError:
            self.book.warn(f"no glued value {d.argument!r}")
            return ""
        latex = str(data.get("text/latex", data.get("text/plain", ""))).strip().strip("$")
        target = self.book.equation(d.options["label"]) if "label" in d.options else None
        tag = f" \\tag{{{target.number}}}" if target and target.number else ""
        return f"$$\n{latex}{tag}\n$$"

    def _literal_include(self, d: _Directive) -> str:
        try:
            code = self.book.include(d.argument, d.options)
        except (OSError, ValueError) as error:
            self.book.warn(f"literalinclude {d.argument!r}: {error}")
            return ""
        language = d.options.get("language") or LANGUAGES.get(PurePosixPath(d.argument).suffix, "")
        caption = d.options.get("caption")
        block = _fence(code, language)
        return f"**{self._inline(caption)}**\n\n{block}" if caption else block

    def _math(self, d: _Directive) -> str:
        target = self.book.equation(d.options["label"]) if "label" in d.options else None
        tag = f" \\tag{{{target.number}}}" if target and target.number else ""
        parts = [p.strip() for p in re.split(r"\n\s*\n", d.body + "\n" + d.argument) if p.strip()]
        return "\n\n".join(f"$$\n{p}{tag}\n$$" for p in parts)

    def _figure(self, d: _Directive) -> str:
        name = self._attach(d.argument)
        alt = d.options.get("alt", "")
        image = f"![{_escape(alt)}](attachment:{name})" if name else ""
        if d.name == "image" or not d.body:  # Sphinx numbers only captioned figures
            return image
        label = self._count("figure", d.options.get("name"))
        return _join([image, self._caption(label, d.body, "")])

    def _attach(self, path: str) -> str | None:
        try:
            data = self.book.read_file(path)
        except OSError as error:
            self.book.warn(f"image {path!r}: {error}")
            return None
        name = PurePosixPath(path).name
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.attachments[name] = {mime: base64.b64encode(data).decode()}
        return name

    def _table(self, d: _Directive) -> str:
        label = self._count("table", d.options.get("name")) if d.argument else None
        caption = self._inline(d.argument) if d.argument else ""
        if d.name == "list-table":
            rows = _list_table(d.body)
            table = _pipe_table(
                [[self._flat(cell) for cell in row] for row in rows],
                header=int(d.options.get("header-rows", "0") or 0) > 0,
            )
        elif d.name == "csv-table":
            rows = list(csv.reader(io.StringIO(d.body), skipinitialspace=True))
            head = d.options.get("header")
            if head:
                rows.insert(0, next(csv.reader(io.StringIO(head), skipinitialspace=True)))
            header = bool(head) or int(d.options.get("header-rows", "0") or 0) > 0
            table = _pipe_table([[self._inline(c) for c in row] for row in rows], header=header)
        else:
            table = self._flat(d.body)
        title = (
            f"**{label}.** {caption}".strip() if label else (f"**{caption}**" if caption else "")
        )
        return _join([title, table])

    def _glossary(self, body: str) -> str:
        entries: list[str] = []
        term: list[str] = []
        definition: list[str] = []
        for line in body.split("\n") + [""]:
            if line and not line[0].isspace():
                if definition:
                    entries.append(f"**{' / '.join(term)}**  \n" + " ".join(definition))
                    term, definition = [], []
                term.append(self._inline(line.strip()))
            elif line.strip():
                definition.append(self._inline(line.strip()))
        if definition:
            entries.append(f"**{' / '.join(term)}**  \n" + " ".join(definition))
        return "\n\n".join(entries)

    def _include(self, d: _Directive) -> list[Piece | _Gate]:
        try:
            text = self.book.read_file(d.argument).decode("utf-8")
        except OSError as error:
            self.book.warn(f"include {d.argument!r}: {error}")
            return []
        if not d.argument.endswith(".md"):
            return [_fence(text, d.options.get("code", ""))]
        return self._blocks(text, nested=True)

    def _admonition(self, d: _Directive) -> str:
        if d.name in ADMONITIONS:
            title = ADMONITIONS[d.name]
            if d.argument:
                title += f": {self._inline(d.argument)}"
        else:
            title = self._inline(d.argument) if d.argument else "Note"
        body = self._flat(d.body)
        classes = d.options.get("class", "").split()
        if "dropdown" in classes:
            return _details(title, body)
        return _quote(f"**{title}**\n\n{body}")


@dataclass
class _Gate:
    """Opens (summary) or closes (None) a solution that spans several cells."""

    summary: str | None


def _indent(text: str, indent: str) -> str:
    return "\n".join(indent + line if line.strip() else line for line in text.split("\n"))


def _closing_ticks(text: str, start: int, ticks: str) -> int | None:
    """Index of the backtick run that closes a code span opened by `ticks`, or None."""
    for match in re.finditer(r"`+", text[start:]):
        if match[0] == ticks:
            return start + match.start()
    return None


def _math_end(text: str, start: int) -> int:
    """End of the `$...$` or `$$...$$` span at `start` (dollarmath's rules), or start + 1."""
    if text.startswith("$$", start):
        end = text.find("$$", start + 2)
        return end + 2 if end != -1 else start + 2
    if start + 1 >= len(text) or text[start + 1].isspace():
        return start + 1
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "\n" and text[i + 1 : i + 2] == "\n":
            return start + 1  # a blank line ends the paragraph: no maths here
        if text[i] == "$":
            after = text[i + 1 : i + 2]
            if not text[i - 1].isspace() and not after.isdigit():
                return i + 1
            return start + 1
        i += 1
    return start + 1


def _list_table(body: str) -> list[list[str]]:
    """The rows of a `list-table` body (`* - a` / `  - b` nested bullet lists)."""
    rows: list[list[str]] = []
    for line in body.split("\n"):
        row = re.match(r"^[*-]\s+-\s?(?P<cell>.*)$", line)
        cell = re.match(r"^\s+-\s?(?P<cell>.*)$", line)
        if row:
            rows.append([row["cell"]])
        elif cell and rows:
            rows[-1].append(cell["cell"])
        elif line.strip() and rows:
            rows[-1][-1] += "\n" + line.strip()
    return rows


def _pipe_table(rows: list[list[str]], header: bool) -> str:
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    cells = [
        [c.replace("\n", " ").replace("|", "\\|") for c in row] + [""] * (width - len(row))
        for row in rows
    ]
    head = cells[0] if header else [""] * width
    body = cells[1:] if header else cells
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def convert(notebook: NotebookNode, book: Book, **options) -> NotebookNode:
    """The standalone notebook of a chapter (see `Converter` for the options)."""
    return Converter(book, **options).convert(notebook)


def pasted_values(notebook: NotebookNode) -> list[dict]:
    """The glued values a converted notebook quotes in its text (key, format, text)."""
    return list(notebook.metadata.get(METADATA_KEY, {}).get("pasted", []))


def myst_leftovers(markdown: str) -> list[str]:
    """MyST syntax still present in Markdown: roles, directive fences, labels, substitutions."""
    patterns = [
        r"\{[A-Za-z][\w:+.\-]*\}`",  # a role
        r"^\s*(?:`{3,}|~{3,}|:{3,})\s*\{[^}]+\}",  # a directive
        r"^\s*\([\w\-:.]+\)=\s*$",  # a label
        r"\{\{\s*[\w.\-]+\s*\}\}",  # a substitution
    ]
    return [m[0] for p in patterns for m in re.finditer(p, markdown, re.MULTILINE)]


__all__ = ["Book", "Converter", "Reference", "Target", "convert", "myst_leftovers", "pasted_values"]
