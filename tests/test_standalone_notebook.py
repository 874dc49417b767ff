"""site/standalone_notebook.py: MyST chapters become notebooks that read well without MyST.

A fake book stands in for the Sphinx build (glued values, labels, bibliography, files), so each
construct is checked on a few lines of MyST. The real chapters are checked end to end, after a
build, by tests/notebooks/.
"""

from __future__ import annotations

import nbformat
import pytest
import standalone_notebook as sn


class FakeBook:
    """A tiny book: one chapter with glued values, a few labels, two papers, one file."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.warnings: list[str] = []
        self.glued = {
            "acc": {"text/plain": "0.8734"},
            "n": {"text/plain": "1000"},
            "fig": {"image/png": "iVBORw0KGgo=", "text/plain": "<Image>"},
            "slider": {"application/vnd.jupyter.widget-view+json": {}, "text/plain": "Box()"},
        }

    def _link(self, anchor: str) -> str | None:
        return f"{self.url}/page.html#{anchor}" if self.url else None

    def glue(self, key, document=None):
        return self.glued[key]

    def reference(self, label):
        targets = {
            "scaling": sn.Target("Why scale by $1/(1-p)$", self._link("scaling"), kind="document"),
            "edge": sn.Target("Edge cases", self._link("edge"), chapter="The dropout layer"),
            "fig-a": sn.Target("A caption", self._link("fig-a"), "5", "Fig. 5", kind="figure"),
            "ex-one": sn.Target("Exercise", None, "7", "Exercise 7", kind="exercise"),
        }
        return targets.get(label)

    def document(self, path):
        return sn.Target("Training", self._link("training"), kind="document") if path else None

    def term(self, name):
        return sn.Target(name, self._link("term"), kind="term")

    def equation(self, label):
        return sn.Target("(3)", None, "3", kind="equation") if label == "eq-a" else None

    def citation(self, key):
        papers = {
            "sri": sn.Reference("Srivastava et al.", "2014", "N. Srivastava. Dropout. 2014."),
            "gal": sn.Reference("Gal and Ghahramani", "2016", "Y. Gal. MC dropout. 2016."),
        }
        return papers.get(key)

    def number(self, kind, index, label):
        numbers = {("figure", "fig-a"): "Fig. 5", ("exercise", "ex-one"): "Exercise 7"}
        if (kind, label) in numbers:
            return numbers[kind, label]
        return f"{kind.title()} {index + 1}"

    def include(self, path, options):
        assert options.get("pyobject") == "forward"
        return "def forward(self, x):\n    return x\n"

    def read_file(self, path):
        if path == "logo.png":
            return b"\x89PNG..."
        raise FileNotFoundError(path)

    def format_text(self, plain, spec):
        from myst_nb.core.variables import format_plain_text

        return format_plain_text(plain, spec)

    def warn(self, message):
        self.warnings.append(message)


def notebook(*cells: tuple[str, str] | tuple[str, str, dict]) -> nbformat.NotebookNode:
    made = []
    for kind, source, *meta in cells:
        metadata = meta[0] if meta else {}
        if kind == "md":
            made.append(nbformat.v4.new_markdown_cell(source, metadata=metadata))
        else:
            made.append(nbformat.v4.new_code_cell(source, metadata=metadata))
    return nbformat.v4.new_notebook(
        cells=made,
        metadata={"jupytext": {"x": 1}, "kernelspec": {"name": "python3", "display_name": "P"}},
    )


def convert(
    nb: nbformat.NotebookNode, book: FakeBook | None = None, keep_setup: bool = False, **options
):
    """The standalone notebook of `nb`; without its first code cell (the BLAS set-up cell
    that every download opens with) unless `keep_setup`."""
    book = book or FakeBook()
    result = sn.convert(nb, book, **options)
    nbformat.validate(result)
    code = [i for i, c in enumerate(result.cells) if c.cell_type == "code"]
    if code and not keep_setup:
        assert result.cells[code[0]].source == sn.SETUP_CELL
        del result.cells[code[0]]
    return result, book


def markdown(result: nbformat.NotebookNode) -> str:
    return "\n\n".join(c.source for c in result.cells if c.cell_type == "markdown")


def test_glued_values_are_pasted_as_the_site_formats_them() -> None:
    result, book = convert(
        notebook(("md", "Accuracy {glue:text}`acc:.1%` on {glue:text}`n:,` digits, {glue}`n`."))
    )
    assert markdown(result) == "Accuracy 87.3% on 1,000 digits, 1000."
    pasted = sn.pasted_values(result)
    assert [(p["key"], p["format"], p["value"]) for p in pasted] == [
        ("acc", ".1%", "87.3%"),
        ("n", ",", "1,000"),
        ("n", "", "1000"),
    ]
    assert not book.warnings


def test_a_glued_figure_is_shown_by_a_code_cell_where_it_stood() -> None:
    source = notebook(
        ("code", "import numpy as np\nfrom myst_nb import glue\n\nglue('fig', 1, display=False)"),
        (
            "md",
            "Before.\n\n```{glue:figure} slider\n:name: fig-a\n:alt: Ten digits.\n\n"
            "The caption, with $p$.\n```\n\nAfter.",
        ),  # fmt: skip
    )
    result, book = convert(source, keep_setup=True, intro="Where the book lives.")
    assert not book.warnings  # a glued widget (a slider) needs no static stand-in here
    kinds = [c.cell_type for c in result.cells]
    assert kinds == ["markdown", "code", "code", "code", "markdown", "code", "markdown"]
    intro, setup, shim, imports, before, figure, caption = result.cells
    assert intro.source == "Where the book lives."
    assert setup.source == sn.SETUP_CELL
    assert "def glue(name, value, display=True)" in shim.source
    assert "myst_nb" not in imports.source.replace("(from the package myst_nb)", "")
    assert imports.source.startswith("import numpy as np\n\nglue(")
    assert figure.source == "glued['slider']  # Fig. 5"
    assert "glued-figure" in figure.metadata["tags"]
    assert caption.source.startswith("**Fig. 5.** The caption, with $p$.")
    assert "Ten digits." in caption.source and "<details>" in caption.source
    assert before.source == "Before." and caption.source.endswith("</details>\n\nAfter.")


def test_the_first_code_cell_sets_one_blas_thread_before_numpy_is_imported() -> None:
    result, _ = convert(
        notebook(("md", "Text."), ("code", "import numpy as np\nx = 1")), keep_setup=True
    )
    first = next(c for c in result.cells if c.cell_type == "code")
    assert first.source == sn.SETUP_CELL
    assert 'os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")' in first.source
    assert "numpy" not in first.source.split("import os")[1]  # nothing imports NumPy first
    assert "last" in first.source and "digits" in first.source  # says what differs elsewhere
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OPENBLAS_NUM_THREADS", raising=False)
        exec(first.source, namespace)
        import os

        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    # A notebook with no code needs no set-up cell.
    bare, _ = convert(notebook(("md", "Only text.")))
    assert all(c.cell_type == "markdown" for c in bare.cells)


def test_the_glue_stand_in_keeps_values_and_displays_them_when_asked(capsys) -> None:
    namespace: dict = {}
    exec(sn.GLUE_SHIM, namespace)
    namespace["glue"]("a", 1.5, display=False)
    namespace["glue"]("b", "shown")
    assert namespace["glued"] == {"a": 1.5, "b": "shown"}
    assert "shown" in capsys.readouterr().out


def test_a_glued_image_inside_a_container_is_attached() -> None:
    result, _ = convert(
        notebook(("md", "````{note}\n```{glue:figure} fig\n\nCap.\n```\n````")),
    )
    (cell,) = result.cells
    assert "![fig](attachment:fig.png)" in cell.source and "**Figure 1.** Cap." in cell.source
    assert cell.attachments == {"fig.png": {"image/png": "iVBORw0KGgo="}}


def test_references_become_titles_linked_to_the_site_when_it_has_an_address() -> None:
    text = (
        "{ref}`scaling` explains it, see {ref}`edge`, {numref}`fig-a`, "
        "{numref}`Figure {number} <fig-a>`, {ref}`the mask <edge>`, {term}`dropout <Dropout>`, "
        "{eq}`eq-a`, {doc}`05_training` and [the figure](#fig-a)."
    )
    offline, _ = convert(notebook(("md", text)))
    assert markdown(offline) == (
        "*Why scale by $1/(1-p)$* explains it, see *Edge cases* (in *The dropout layer*), "
        "Fig. 5, Figure 5, the mask, dropout, (3), *Training* and the figure."
    )
    online, _ = convert(notebook(("md", text)), FakeBook(url="https://book.example"))
    assert markdown(online).startswith(
        "[Why scale by $1/(1-p)$](https://book.example/page.html#scaling) explains it, see "
        "[Edge cases](https://book.example/page.html#edge) (in *The dropout layer*), "
        "[Fig. 5](https://book.example/page.html#fig-a)"
    )


def test_citations_become_author_year_text_with_a_reference_list_at_the_end() -> None:
    result, _ = convert(
        notebook(("md", "As shown {cite}`sri,gal`, and by {cite:t}`sri`; {cite:p}`gal`."))
    )
    text, references = result.cells[0].source, result.cells[-1].source
    assert text == (
        "As shown (Srivastava et al. 2014; Gal and Ghahramani 2016), and by "
        "Srivastava et al. (2014); (Gal and Ghahramani 2016)."
    )
    assert references == (
        "## References\n\n"
        "- **Gal and Ghahramani (2016).** Y. Gal. MC dropout. 2016.\n"
        "- **Srivastava et al. (2014).** N. Srivastava. Dropout. 2014."
    )


def test_included_code_appears_as_code() -> None:
    result, _ = convert(
        notebook(("md", "```{literalinclude} ../src/x.py\n:pyobject: forward\n:dedent:\n```"))
    )
    assert result.cells[0].source == "```python\ndef forward(self, x):\n    return x\n```"


def test_exercises_become_numbered_headings_and_solutions_collapse() -> None:
    source = notebook(
        ("md", "## Exercises\n\n```{exercise}\n:label: ex-one\n\nShow that $a$.\n```\n\n"
               "```{solution} ex-one\n:class: dropdown\n\nBecause.\n```\n\n"
               "````{exercise} Optional\nDo {glue:text}`n`.\n````\n\n"
               "````{solution-start} ex-one\n:class: dropdown\n````\n\nFirst:"),
        ("code", "print(1)"),
        ("md", "So 1.\n\n````{solution-end}\n````\n\nAfter."),
    )  # fmt: skip
    result, book = convert(source)
    md = [c.source for c in result.cells if c.cell_type == "markdown"]
    assert md[0].startswith("## Exercises\n\n### Exercise 7\n\nShow that $a$.\n\n<details>")
    assert "<summary>Solution to Exercise 7</summary>\n\nBecause.\n\n</details>" in md[0]
    assert "### Exercise 2 (Optional)\n\nDo 1000." in md[0]
    assert md[1] == "<details>\n<summary>Solution to Exercise 7</summary>\n\nFirst:\n\n</details>"
    code = next(c for c in result.cells if c.cell_type == "code")
    assert code.source == "# Solution to Exercise 7\nprint(1)"
    assert code.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert md[2] == (
        "<details>\n<summary>Solution to Exercise 7 (continued)</summary>\n\nSo 1.\n\n</details>"
    )
    assert md[3] == "After."
    assert not book.warnings


def test_hidden_cells_stay_in_marked_and_collapsed_like_on_the_site() -> None:
    source = notebook(
        ("code", "x = 1\nassert x == 1", {"tags": ["remove-cell"]}),
        ("code", "y = 2", {"tags": ["remove-cell"]}),
        ("code", "plot()", {"tags": ["hide-input"]}),
    )
    result, _ = convert(source)
    check, hidden, plot = result.cells
    assert check.source == sn.CHECK_HEADER + "\nx = 1\nassert x == 1"
    assert sn.CHECK_TAG in check.metadata["tags"]
    assert hidden.source == sn.HIDDEN_HEADER + "\ny = 2"
    assert sn.CHECK_TAG not in hidden.metadata["tags"]
    assert plot.metadata["jupyter"] == {"source_hidden": True}


def test_admonitions_labels_comments_and_definitions() -> None:
    text = (
        "(intro)=\n# Title\n% a comment\n\n```{note}\nA *note*.\n```\n\n"
        "````{admonition} The class\n:class: dropdown\n```python\nx = 1\n```\n````\n\n"
        ":::{tip}\nColon fenced.\n:::\n\nTerm\n: Its definition."
    )
    result, book = convert(notebook(("md", text)))
    assert markdown(result) == (
        "# Title\n\n> **Note**\n>\n> A *note*.\n\n"
        "<details>\n<summary>The class</summary>\n\n```python\nx = 1\n```\n\n</details>\n\n"
        "> **Tip**\n>\n> Colon fenced.\n\n**Term**  \nIts definition."
    )
    assert not book.warnings


def test_code_spans_maths_and_code_blocks_are_left_alone() -> None:
    text = (
        "Write `` {ref}`x` `` and $\\{a\\}_{b}$ and $$\\frac{{1}}{2}$$, costs $5 and $6.\n\n"
        "```python\n# not a heading\nf'{glue:text}`x`'\n```"
    )
    result, book = convert(notebook(("md", text)))
    assert markdown(result) == text
    assert not book.warnings


def test_unknown_syntax_keeps_its_text_and_is_reported() -> None:
    result, book = convert(notebook(("md", "A {foo}`bar` role.\n\n```{mystery} Title\nBody.\n```")))
    assert markdown(result) == "A bar role.\n\n**Title**\n\nBody."
    assert len(book.warnings) == 2 and "{foo}" in book.warnings[0]


def test_tables_keep_their_caption_and_number() -> None:
    text = (
        "```{list-table} Rates\n:header-rows: 1\n\n"
        "* - p\n  - acc\n* - 0.5\n  - {glue:text}`acc:.2f`\n```"
    )
    result, _ = convert(notebook(("md", text)))
    assert markdown(result) == "**Table 1.** Rates\n\n| p | acc |\n|---|---|\n| 0.5 | 0.87 |"


def test_the_leftover_finder_sees_raw_myst() -> None:
    raw = "(label)=\n# T\n{ref}`x` and {{ sub }}\n\n```{note}\nN\n```"
    assert len(sn.myst_leftovers(raw)) == 4
    assert sn.myst_leftovers("Plain `code` and $x$.") == []


@pytest.mark.parametrize("line", ["from myst_nb import glue as g", "import myst_nb"])
def test_other_spellings_of_the_myst_nb_import_are_replaced(line: str) -> None:
    result, book = convert(notebook(("code", line)))
    code = [c.source for c in result.cells if c.cell_type == "code"]
    assert "def glue(" in code[0] and "import myst_nb" not in code[1].replace("myst_nb =", "")
    namespace: dict = {}
    exec(code[0], namespace)
    exec(code[1], namespace)
    assert "g" in namespace or namespace["myst_nb"].glue is namespace["glue"]
    assert not book.warnings


def test_cell_ids_are_stable() -> None:
    source = notebook(("md", "Text {glue:text}`n`."), ("code", "x = 1"))
    first, _ = convert(source)
    second, _ = convert(source)
    assert [c.id for c in first.cells] == [c.id for c in second.cells]
    assert "jupytext" not in first.metadata


def test_footnotes_become_numbered_notes_at_the_end() -> None:
    text = "A claim[^why] and another[^two].\n\n[^why]: Because of $p$.\n[^two]: See {cite}`sri`."
    result, _ = convert(notebook(("md", text)))
    assert result.cells[0].source == "A claim<sup>1</sup> and another<sup>2</sup>."
    assert result.cells[1].source == (
        "## Notes\n\n1. Because of $p$.\n2. See (Srivastava et al. 2014)."
    )
    assert result.cells[2].source.startswith("## References\n\n- **Srivastava et al. (2014).**")


def test_run_dependent_values_are_marked_and_unknown_names_reported() -> None:
    source = notebook(("md", "Took {glue:text}`acc:.2f` s for {glue:text}`n` steps."))
    source.metadata[sn.RUN_DEPENDENT] = ["acc", "gone"]
    result, book = convert(source)
    assert [(p["key"], p["varies"]) for p in sn.pasted_values(result)] == [
        ("acc", True),
        ("n", False),
    ]
    assert sn.RUN_DEPENDENT not in result.metadata
    assert book.warnings == [f"{sn.RUN_DEPENDENT} names values the text does not quote: ['gone']"]
