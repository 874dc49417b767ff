"""Sphinx extension: offer every chapter as a standalone Jupyter notebook (.ipynb) to download.

The chapters are MyST Markdown notebooks. Readers who run them outside a clone of this
repository expect an `.ipynb` that reads well in plain Jupyter, Colab or VS Code and runs with
the book's package and its notebook dependencies only. So, for each notebook page, this
extension converts the chapter with `standalone_notebook.py` (glued values filled in from the
executed build, included code as code, references and citations as text, exercises as headings
with collapsible solutions, no `myst_nb` import) and writes it to `_sources/<page>.ipynb`, next
to the Markdown source Sphinx already copies there. The page links to it twice: a line under
the chapter title, and the ".ipynb" entry of the theme's download menu (sphinx-book-theme shows
that entry when the page context names an `ipynb_source` under `_sources/`).

The conversion runs while the page is written, when every page has been read: the titles and
numbers of cross-reference targets come from the Sphinx environment, the glued values from the
`<page>.glue.json` files myst-nb writes when it executes a chapter, the bibliography from
sphinxcontrib-bibtex. Anything the converter cannot render, or MyST syntax left in the result,
is a warning (and fails the strict build).

Loaded from _config.yml (`sphinx: local_extensions: ipynb_download: site/`), which puts site/
on the import path.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jupytext
import nbformat
import standalone_notebook
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

LINK_TEXT = "Download this chapter as a Jupyter notebook (.ipynb)"
NOTEBOOK_EXTRA = "notebook"  # the extra of pyproject.toml a downloaded notebook needs

logger = logging.getLogger(__name__)


def _notebook_source(app: Sphinx, docname: str) -> Path | None:
    """The page's source file if it is a MyST Markdown notebook (jupytext front matter)."""
    if docname not in app.env.found_docs:
        return None
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".md":
        return None
    metadata = jupytext.read(path).metadata
    return path if "kernelspec" in metadata and "jupytext" in metadata else None


def _target(docname: str) -> str:
    return f"_sources/{docname}.ipynb"


def _markdown(node: nodes.Node) -> str:
    """Inline Markdown of a title or caption node (maths, code and emphasis kept)."""
    if isinstance(node, nodes.Text):
        return standalone_notebook._escape(node.astext())
    if isinstance(node, nodes.math):
        return f"${node.astext()}$"
    if isinstance(node, nodes.literal):
        return standalone_notebook._code_span(node.astext())
    inner = "".join(_markdown(child) for child in node.children)
    if isinstance(node, nodes.emphasis):
        return f"*{inner}*"
    if isinstance(node, nodes.strong):
        return f"**{inner}**"
    return inner


class SphinxBook:
    """The built book as `standalone_notebook.Book` sees it, for one page being written."""

    def __init__(self, app: Sphinx, docname: str, doctree: nodes.document) -> None:
        self.app = app
        self.env = app.env
        self.docname = docname
        self.std = self.env.get_domain("std")
        self.config = app.config
        self._doctrees: dict[str, nodes.document] = {}
        self._glue: dict[str, dict] = {}
        self._citations: dict[str, standalone_notebook.Reference] | None = None
        # The numbers of this page's figures, exercises and tables, in document order.
        self.order: dict[str, list[tuple[int, ...]]] = {}
        numbers = self.env.toc_fignumbers.get(docname, {})
        for node in doctree.findall(nodes.Element):
            kind = self.std.get_enumerable_node_type(node)
            if kind and kind != "section" and node["ids"]:
                number = numbers.get(kind, {}).get(node["ids"][0])
                if number:
                    self.order.setdefault(kind, []).append(number)

    # -- helpers -----------------------------------------------------------------------------

    def _doctree(self, docname: str) -> nodes.document:
        if docname not in self._doctrees:
            self._doctrees[docname] = self.env.get_doctree(docname)
        return self._doctrees[docname]

    def _node(self, docname: str, node_id: str) -> nodes.Element | None:
        doctree = self._doctree(docname)
        found = doctree.ids.get(node_id)
        if found is None:
            found = next((n for n in doctree.findall(nodes.Element) if node_id in n["ids"]), None)
        return found

    def _url(self, docname: str, anchor: str = "") -> str | None:
        return _site_url(self.app, docname, anchor)

    def _numbered(self, kind: str, number: tuple[int, ...]) -> tuple[str, str]:
        text = ".".join(map(str, number))
        template = self.config.numfig_format.get(kind, f"{kind.title()} %s")
        return text, template % text

    def _title(self, docname: str) -> str:
        title = self.env.titles.get(docname)
        return _markdown(title) if title is not None else docname

    def _docname(self, path: str) -> str | None:
        path = path.removesuffix("/")
        for suffix in ("", ".md", ".ipynb", ".rst"):
            _, absolute = self.env.relfn2path(path + suffix, self.docname)
            docname = self.env.path2doc(absolute)
            if docname is not None and docname in self.env.all_docs:
                return docname
        return None

    # -- Book --------------------------------------------------------------------------------

    def glue(self, key: str, document: str | None = None) -> dict:
        docname = self._docname(document) if document else self.docname
        if docname is None:
            raise KeyError(key)
        if docname not in self._glue:
            folder = Path(self.env.mystnb_config.output_folder)
            path = folder.joinpath(*f"{docname}.glue.json".split("/"))
            self._glue[docname] = json.loads(path.read_text("utf8")) if path.is_file() else {}
        return self._glue[docname][key]["data"]

    def reference(self, label: str) -> standalone_notebook.Target | None:
        name = nodes.fully_normalize_name(label)
        if name in self.std.labels:
            docname, node_id, _ = self.std.labels[name]
        elif name in self.std.anonlabels:
            docname, node_id = self.std.anonlabels[name]
        else:
            return None
        node = self._node(docname, node_id)
        kind = self.std.get_enumerable_node_type(node) if node is not None else None
        target = standalone_notebook.Target(
            title=self.std.labels.get(name, ("", "", label))[2] or label,
            url=self._url(docname, node_id),
            kind=kind or "section",
        )
        number = self.env.toc_fignumbers.get(docname, {}).get(kind or "", {}).get(node_id)
        if number:
            target.number, target.numbered = self._numbered(kind, number)
        if isinstance(node, nodes.section):
            target.title = _markdown(node[0])
            first = next(iter(self._doctree(docname).findall(nodes.section)), None)
            if node is first:
                target.kind = "document"
            elif docname != self.docname:
                target.chapter = self._title(docname)
        elif node is not None:
            caption = next(iter(node.findall(nodes.caption)), None)
            if caption is not None:
                target.title = _markdown(caption)
        return target

    def document(self, path: str) -> standalone_notebook.Target | None:
        docname = self._docname(path)
        if docname is None:
            return None
        return standalone_notebook.Target(
            title=self._title(docname), url=self._url(docname), kind="document"
        )

    def term(self, name: str) -> standalone_notebook.Target | None:
        objects = self.std.data["objects"]
        found = objects.get(("term", name))
        if found is None:
            lowered = name.lower()
            found = next(
                (
                    v
                    for (kind, key), v in objects.items()
                    if kind == "term" and key.lower() == lowered
                ),
                None,
            )
        if found is None:
            return None
        docname, node_id = found
        return standalone_notebook.Target(title=name, url=self._url(docname, node_id), kind="term")

    def equation(self, label: str) -> standalone_notebook.Target | None:
        found = self.env.get_domain("math").data.get("objects", {}).get(label)
        if found is None:
            return None
        docname, number = found
        return standalone_notebook.Target(
            title=f"({number})",
            url=self._url(docname, f"equation-{label}"),
            number=str(number),
            kind="equation",
        )

    def citation(self, key: str) -> standalone_notebook.Reference | None:
        if self._citations is None:
            self._citations = self._bibliography()
        return self._citations.get(key)

    def _bibliography(self) -> dict[str, standalone_notebook.Reference]:
        if "cite" not in self.env.domains:
            return {}
        from pybtex.plugin import find_plugin

        domain = self.env.get_domain("cite")
        formatted = {}
        for citation in domain.citations:
            formatted.setdefault(citation.key, citation.formatted_entry)
        style = find_plugin("pybtex.style.formatting", "plain")()
        result = {}
        for key, entry in domain.bibdata.data.entries.items():
            if key in formatted:
                text = formatted[key].text
            else:
                text = style.format_entry(key, entry).text
            result[key] = standalone_notebook.Reference(
                names=_names(entry),
                year=entry.fields.get("year", "n.d."),
                entry=text.render_as("markdown"),
            )
        return result

    def number(self, kind: str, index: int, label: str | None) -> str | None:
        numbers = self.env.toc_fignumbers.get(self.docname, {}).get(kind, {})
        if label:
            found = self.std.labels.get(nodes.fully_normalize_name(label))
            if found and found[0] == self.docname and found[1] in numbers:
                return self._numbered(kind, numbers[found[1]])[1]
        order = self.order.get(kind, [])
        return self._numbered(kind, order[index])[1] if index < len(order) else None

    def include(self, path: str, options: dict[str, str]) -> str:
        from sphinx.directives.code import LiteralInclude, LiteralIncludeReader

        _, absolute = self.env.relfn2path(path, self.docname)
        spec = LiteralInclude.option_spec
        # docutils hands a flag or an option with no value to its converter as None.
        converted = {k: spec[k](v or None) for k, v in options.items() if k in spec}
        text, _ = LiteralIncludeReader(absolute, converted, self.config).read()
        return text

    def read_file(self, path: str) -> bytes:
        _, absolute = self.env.relfn2path(path, self.docname)
        return Path(absolute).read_bytes()

    def format_text(self, plain: str, spec: str) -> str:
        from myst_nb.core.variables import format_plain_text

        return format_plain_text(plain, spec)

    def warn(self, message: str) -> None:
        logger.warning(
            f"notebook download: {message}", location=self.docname, type="ipynb", subtype="myst"
        )


def _site_url(app: Sphinx, docname: str, anchor: str = "") -> str | None:
    """A page (and anchor) on the book's website, if the book has an address (html_baseurl)."""
    base = app.config.html_baseurl
    if not base:
        return None
    uri = app.builder.get_target_uri(docname)
    return f"{base.rstrip('/')}/{uri}" + (f"#{anchor}" if anchor else "")


def _names(entry) -> str:
    """Author-year names of a bibliography entry: "Gal and Ghahramani", "Srivastava et al."."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [" ".join(n.render_as("text") for n in p.rich_last_names) for p in people]
    if not surnames:
        return str(entry.fields.get("organization") or entry.fields.get("title", "Anonymous"))
    if len(surnames) == 1:
        return surnames[0]
    if len(surnames) == 2 and surnames[1] != "others":
        return f"{surnames[0]} and {surnames[1]}"
    return f"{surnames[0]} et al."


def _install(app: Sphinx) -> tuple[str, list[str]]:
    """(the requirement that installs the package for a notebook, the packages it brings)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return "", []
    path = Path(app.srcdir) / "pyproject.toml"
    if not path.is_file():
        return "", []
    project = tomllib.loads(path.read_text("utf8")).get("project", {})
    name = project.get("name", "")
    extras = project.get("optional-dependencies", {})
    extra = f"[{NOTEBOOK_EXTRA}]" if NOTEBOOK_EXTRA in extras else ""
    needs = project.get("dependencies", []) + extras.get(NOTEBOOK_EXTRA, [])
    packages = sorted({re.split(r"[\s<>=!~;\[]", need, maxsplit=1)[0] for need in needs})
    return f"{name}{extra}", packages


def _intro(app: Sphinx, docname: str) -> str:
    """The notebook's first cell: where the book lives and how to install what it needs."""
    title = app.config.html_title or app.config.project
    repository = app.config.html_theme_options.get("repository_url", "")
    online = _site_url(app, docname)
    requirement, packages = _install(app)
    lines = [f"*This notebook is a chapter of* **{title}**."]
    if online:
        lines[0] += f" Read it online, with its figures and sliders, at <{online}>."
    if repository:
        lines.append(f"The book and the code of its package live at <{repository}>.")
    if requirement:
        listed = ", ".join(p for p in packages if p != requirement.split("[")[0])
        source = f"{requirement} @ git+{repository}" if repository else requirement
        lines.append(
            f"To run it, install the package `{requirement.split('[')[0]}` and what the "
            f"notebook needs ({listed}) into the environment of your Jupyter kernel "
            f'(Python 3.10 or newer):\n\n```bash\npip install "{source}"\n```\n\n'
            f'In a clone of the repository, `pip install ".[{NOTEBOOK_EXTRA}]"` does the '
            "same, and `make lab` opens the chapters in JupyterLab with everything installed."
        )
    lines.append(
        "Run the cells from top to bottom. The numbers in the text were computed by this "
        "code when the book was built, and running it gives them again. Cells that start "
        "with `# Check` are the book's hidden checks of what the text claims."
    )
    return "\n\n".join(lines) + "\n\n---"


def add_link(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Put a download link right under the title of a notebook page."""
    if app.builder.format != "html" or _notebook_source(app, docname) is None:
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    uri = relative_uri(app.builder.get_target_uri(docname), _target(docname))
    link = nodes.reference("", LINK_TEXT, refuri=uri, internal=False)
    paragraph = nodes.paragraph("", "", link, classes=["ipynb-download"])
    section.insert(1, paragraph)  # index 0 is the title


def write_notebook(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    """Write `_sources/<page>.ipynb` and tell the theme's download menu about it."""
    source = _notebook_source(app, pagename)
    if source is None or doctree is None:
        return
    notebook = jupytext.read(source)
    book = SphinxBook(app, pagename, doctree)
    substitutions = dict(getattr(app.config, "myst_substitutions", {}) or {})
    substitutions.update(notebook.metadata.get("substitutions", {}) or {})
    result = standalone_notebook.convert(
        notebook,
        book,
        source=Path(source).relative_to(app.srcdir).as_posix(),
        intro=_intro(app, pagename),
        deflist="deflist" in (getattr(app.config, "myst_enable_extensions", None) or []),
        substitutions=substitutions,
    )
    for cell in result.cells:
        if cell.cell_type == "markdown":
            for found in standalone_notebook.myst_leftovers(cell.source):
                book.warn(f"MyST syntax left in the notebook: {found!r}")
    try:
        nbformat.validate(result)
    except nbformat.ValidationError as error:
        book.warn(f"invalid notebook: {error.message}")
    target = Path(app.outdir) / _target(pagename)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(result, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _converter_digest(app: Sphinx) -> str:
    """A digest of what shapes a notebook besides its chapter: this code, pyproject.toml."""
    digest = hashlib.sha256()
    for path in (
        Path(__file__),
        Path(standalone_notebook.__file__),
        Path(app.srcdir) / "pyproject.toml",
    ):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def outdate_notebooks_if_converter_changed(
    app: Sphinx, env, added: set, changed: set, removed: set
) -> list[str]:
    """Rewrite every notebook page after a change to the converter (execution is cached)."""
    digest = _converter_digest(app)
    if getattr(env, "ipynb_download_digest", None) == digest:
        return []
    env.ipynb_download_digest = digest
    return sorted(
        d for d in env.found_docs - added - changed if _notebook_source(app, d) is not None
    )


def setup(app: Sphinx) -> dict:
    app.connect("env-get-outdated", outdate_notebooks_if_converter_changed)
    app.connect("doctree-resolved", add_link)
    # Before sphinx-book-theme builds its header buttons (priority 501).
    app.connect("html-page-context", write_notebook, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
