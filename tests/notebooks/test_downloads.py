"""The notebooks readers download: they read cleanly anywhere and run with the package alone.

For every chapter of the table of contents, the notebook the build wrote for its download link:

- rendered by nbconvert's Markdown and HTML exporters (what plain Jupyter tools show), it has
  no MyST role, directive, label or substitution left;
- it keeps every code cell of the chapter (the hidden checks included, marked as checks) and
  imports nothing from myst_nb;
- it runs top to bottom with nbclient in a fresh kernel whose venv has only the package's
  wheel and its notebook extra (numpy, matplotlib, ipywidgets, tqdm) plus ipykernel; every
  glued figure shows where its `glue:figure` stood, and every value the text quotes is what the
  notebook computes (except the values a chapter's front matter lists as run-dependent, under
  `run_dependent_glue:`, such as timings).

The last test is the one execution of each chapter's hidden checks in `make test` outside the
strict build. Run with `make downloads` (after a build) or `make test`.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
import standalone_notebook
from support import CHAPTERS, CLOSURE_SCRIPT, ROOT, MinimalKernel, printed_json, run

# MyST as it shows when a Markdown renderer does not know it. In nbconvert's Markdown output the
# syntax is verbatim; in its HTML (mistune), a role becomes `{name}<code>`, a directive fence a
# code block of language `{name}`, a label a paragraph "(label)=".
MARKDOWN_LEFTOVERS = {
    "role": r"\{[A-Za-z][\w:+.\-]*\}`",
    "directive": r"^\s*(?:`{3,}|~{3,}|:{3,})\s*\{[^}\s]+\}",
    "label": r"^\s*\([\w\-:.]+\)=\s*$",
    "substitution": r"\{\{\s*[\w.\-]+\s*\}\}",
    "directive option": r"^:(?:class|label|name|alt|tags|pyobject|language|dedent):",
}
HTML_LEFTOVERS = {
    "role": r"\{[A-Za-z][\w:+.\-]*\}<code",
    "directive": r"language-\{|<p>:{3,}\{",
    "label": r"<p>\([\w\-:.]+\)=",
    "substitution": r"\{\{\s*[\w.\-]+\s*\}\}",
    "directive option": r"<p>:(?:class|label|name|alt|tags|pyobject|language|dedent):",
}

# Appended to a notebook when it runs: the CPU time of the kernel and of its worker processes
# (ended ones, and live ones of a pool kept for reuse, via psutil, which ipykernel requires),
# and the text/plain of every value the notebook glued, as myst-nb would store it.
REPORT_CELL = """\
import json as _json, os as _os
import psutil as _psutil
from IPython.core.formatters import format_display_data as _format
_t = _os.times()
_live = sum(sum(c.cpu_times()[:2]) for c in _psutil.Process().children(recursive=True))
_glued = globals().get("glued", {})
print(_json.dumps({
    "cpu": _t.user + _t.system + _t.children_user + _t.children_system + _live,
    "glued": {k: _format(v)[0].get("text/plain") for k, v in _glued.items()},
}))"""


def leftovers(text: str, patterns: dict[str, str]) -> list[str]:
    found = []
    for kind, pattern in patterns.items():
        for match in re.finditer(pattern, text, re.MULTILINE):
            line = text.count("\n", 0, match.start()) + 1
            context = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
            found.append(f"{kind} at line {line}: ...{context}...")
    return found


def render(notebook: nbformat.NotebookNode) -> tuple[str, str]:
    from nbconvert import HTMLExporter, MarkdownExporter

    markdown, _ = MarkdownExporter().from_notebook_node(notebook)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    return markdown, html


def test_the_leftover_patterns_find_raw_myst() -> None:
    """The checks below can fail: a notebook with raw MyST (as jupytext writes it) trips them."""
    raw = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "(intro)=\n# Title\n\nSee {ref}`intro` and {glue:text}`x:.1f`, {{ name }}.\n\n"
                "```{exercise}\n:label: ex\n\nDo it.\n```\n\n:::{note}\nNoted.\n:::\n"
            )
        ]
    )
    markdown, html = render(raw)
    found_md = {line.split(" at ")[0] for line in leftovers(markdown, MARKDOWN_LEFTOVERS)}
    found_html = {line.split(" at ")[0] for line in leftovers(html, HTML_LEFTOVERS)}
    assert found_md == set(MARKDOWN_LEFTOVERS), found_md
    assert found_html == set(HTML_LEFTOVERS) - {"directive option"}, found_html


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_download_renders_without_myst(chapter: str, generated) -> None:
    notebook = nbformat.read(generated(chapter), as_version=4)
    nbformat.validate(notebook)
    markdown, html = render(notebook)
    found = leftovers(markdown, MARKDOWN_LEFTOVERS) + leftovers(html, HTML_LEFTOVERS)
    assert not found, f"{chapter}: MyST left in the rendered notebook:\n" + "\n".join(found)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "pip install" in first.source, first.source


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_download_keeps_every_code_cell_and_needs_no_myst_nb(chapter: str, generated) -> None:
    notebook = nbformat.read(generated(chapter), as_version=4)
    source = jupytext.read(ROOT / f"{chapter}.md")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    text = "\n".join(cell.source for cell in code)
    assert not re.search(r"^\s*(from\s+myst_nb\s+import|import\s+myst_nb)", text, re.MULTILINE)

    def lines(source: str) -> str:  # without blank lines and the myst_nb import
        kept = [line for line in source.splitlines() if line.strip()]
        myst_nb = re.compile(r"\s*from\s+myst_nb\s+import\s+glue$")
        return "\n".join(line for line in kept if not myst_nb.match(line))

    generated_cells = [lines(cell.source) for cell in code]
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        kept = [c for c, g in zip(code, generated_cells, strict=True) if lines(cell.source) in g]
        assert kept, f"{chapter}: a code cell is missing:\n{cell.source}"
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags and re.search(r"^\s*assert\b", cell.source, re.MULTILINE):
            assert standalone_notebook.CHECK_TAG in kept[0].metadata.get("tags", [])
            assert kept[0].source.startswith("# Check"), kept[0].source[:80]


def test_minimal_venv_has_only_the_wheel_and_the_notebook_extra(
    minimal_kernel: MinimalKernel,
) -> None:
    out = run(minimal_kernel.python, "-c", CLOSURE_SCRIPT, "nnscratch[notebook]", "ipykernel")
    found = json.loads(out)
    extra = set(found["installed"]) - set(found["needed"]) - {"pip", "setuptools"}
    assert not extra, f"installed but not required by the wheel's notebook extra: {extra}"
    for name in ("numpy", "matplotlib", "ipywidgets", "tqdm", "nnscratch"):
        assert name in found["installed"]
    absent = ("myst_nb", "jupytext", "sphinx")  # the build's tools: a download needs none
    probe = f"import importlib.util as u; print([m for m in {absent!r} if u.find_spec(m)])"
    assert run(minimal_kernel.python, "-c", probe, cwd=minimal_kernel.prefix).strip() == "[]"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_download_runs_in_a_minimal_kernel(
    chapter: str, generated, minimal_kernel: MinimalKernel, times, tmp_path: Path
) -> None:
    from myst_nb.core.variables import format_plain_text
    from nbclient import NotebookClient

    notebook = nbformat.read(generated(chapter), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
    # Run in an empty folder, so that nothing of the repository can be imported.
    client = NotebookClient(
        notebook,
        km=minimal_kernel.manager(),
        timeout=600,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on an error
    wall = time.perf_counter() - start

    report = printed_json(notebook.cells[-1])
    times[chapter] = {"wall": wall, "cpu": report["cpu"]}
    for cell in notebook.cells:
        if "glued-figure" in cell.metadata.get("tags", []):
            shown = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
            assert shown, f"{chapter}: the glued figure `{cell.source}` showed nothing"
    mismatches = []
    for pasted in standalone_notebook.pasted_values(notebook):
        if pasted["document"] or pasted["role"] not in ("glue:text", "glue", "glue:", "glue:any"):
            continue
        if pasted["varies"]:  # declared in the chapter's front matter: a timing, say
            continue
        computed = report["glued"].get(pasted["key"])
        if computed is None:
            mismatches.append(f"{pasted['key']}: the notebook never glues it")
            continue
        if pasted["role"] == "glue:text":
            computed = format_plain_text(computed, pasted["format"] or "s")
        if computed != pasted["value"]:
            mismatches.append(f"{pasted['key']}: the text says {pasted['value']}, ran {computed}")
    assert not mismatches, (
        f"{chapter}: values in the text differ from the run:\n" + "\n".join(mismatches) + "\n"
        f"Either the package changed since the build last executed this chapter (its cache keys "
        f"on the chapter's code only: delete _build/.jupyter_cache and build again), or the "
        f"value differs from run to run by nature, like a timing: then list it under "
        f"`{standalone_notebook.RUN_DEPENDENT}:` in the chapter's front matter."
    )
