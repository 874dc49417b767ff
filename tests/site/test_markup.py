"""The markup of the built site and of its downloads, read from the files (no browser).

- Every id appears once on a page (sphinx-exercise gave every exercise's body the same id).
- Every page has exactly one viewport `<meta>` (Sphinx, the theme and docutils each wrote one).
- No raw LaTeX reaches a reader: no backslash command (`\\texttt`, `\\emph`, ...) in the text
  of a page or in an attribute a browser shows (`title`, `alt`, `aria-label`), outside the
  maths that MathJax typesets and outside code; nor in the Markdown of a downloadable
  notebook, outside its `$...$` maths and code.

The browser tests check what scripts add at run time (test_browser.py: no duplicate id in the
live page, no console message).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser

import harness
import pytest

PAGES = harness.pages()
NOTEBOOKS = sorted((harness.SITE / "_sources").rglob("*.ipynb"))
ID_RE = re.compile(r"""<[a-zA-Z][^>]*?\sid=["']([^"']+)["']""")
VIEWPORT_RE = re.compile(r"""<meta\s[^>]*name=["']viewport["']""")
# A LaTeX command: a backslash and a word (`\texttt`), not an escaped character (`\_`).
COMMAND_RE = re.compile(r"\\[A-Za-z]{2,}")
# Attributes whose text a browser shows or speaks.
SHOWN_ATTRIBUTES = ("title", "alt", "aria-label", "aria-description", "placeholder")
# Elements whose text is not prose: code, scripts, and the maths MathJax typesets.
VERBATIM_TAGS = {"script", "style", "pre", "code", "kbd", "samp", "textarea", "template"}
MATH_CLASSES = {"math"}
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


class ShownText(HTMLParser):
    """Collects the prose of a page and its shown attributes, each with the tag it is in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # for each open element: is it verbatim (code, maths)?
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in SHOWN_ATTRIBUTES:
            text = values.get(name) or ""
            for match in COMMAND_RE.finditer(text):
                self.found.append(f"<{tag} {name}>: ...{text[max(0, match.start() - 40) :]}")
        if tag in VOID_TAGS:
            return
        classes = set((values.get("class") or "").split())
        verbatim = tag in VERBATIM_TAGS or bool(classes & MATH_CLASSES)
        self.stack.append(verbatim or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1]:
            return
        for match in COMMAND_RE.finditer(data):
            start = max(0, match.start() - 40)
            self.found.append(f"text: ...{data[start : match.end() + 40].strip()}...")


def raw_latex_in_html(html: str) -> list[str]:
    parser = ShownText()
    parser.feed(html)
    return parser.found


# Maths and code in a notebook's Markdown, which a notebook renders as such.
MARKDOWN_VERBATIM_RE = re.compile(
    r"\$\$.*?\$\$|\$[^$]+\$|```.*?```|`[^`\n]+`|\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.DOTALL
)


def raw_latex_in_markdown(text: str) -> list[str]:
    prose = MARKDOWN_VERBATIM_RE.sub(" ", text)
    return [
        f"...{prose[max(0, m.start() - 40) : m.end() + 40].strip()}..."
        for m in COMMAND_RE.finditer(prose)
    ]


@pytest.mark.parametrize("page_name", PAGES)
def test_every_id_is_unique_and_there_is_one_viewport_tag(page_name: str) -> None:
    html = (harness.SITE / page_name).read_text(encoding="utf-8")
    repeated = {i: n for i, n in Counter(ID_RE.findall(html)).items() if n > 1}
    viewports = len(VIEWPORT_RE.findall(html))
    assert not repeated, f"ids used more than once (id: times): {repeated}"
    assert viewports == 1, f"{viewports} viewport <meta> tags"


@pytest.mark.parametrize("page_name", PAGES)
def test_no_raw_latex_in_a_page(page_name: str) -> None:
    found = raw_latex_in_html((harness.SITE / page_name).read_text(encoding="utf-8"))
    assert not found, f"{len(found)} LaTeX commands shown as text:\n" + "\n".join(found[:10])


def test_there_are_downloads() -> None:
    assert NOTEBOOKS, f"no notebooks in {harness.SITE / '_sources'}: build the book"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_raw_latex_in_a_download(notebook) -> None:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    found = []
    for number, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            found += [f"cell {number}: {hit}" for hit in raw_latex_in_markdown(source)]
    assert not found, f"{len(found)} LaTeX commands shown as text:\n" + "\n".join(found[:10])


def test_the_checks_see_raw_latex_and_ignore_maths_and_code() -> None:
    shown = '<p>starter code \\texttt cs231n/layers.py</p><a title="see \\emph{this}">x</a>'
    assert len(raw_latex_in_html(shown)) == 2
    ignored = (
        '<span class="math notranslate">\\(\\frac{1}{2}\\)</span><pre>print("\\n")</pre>'
        "<code>\\texttt</code><br><p>plain \\_ text</p>"
    )
    assert raw_latex_in_html(ignored) == []
    assert len(raw_latex_in_markdown("see \\texttt cs231n/layers.py")) == 1
    assert raw_latex_in_markdown("$\\frac{1}{2}$ and `\\n` and $$\\sum_i x_i$$") == []
