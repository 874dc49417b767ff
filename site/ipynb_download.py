"""Sphinx extension: offer every chapter as a Jupyter notebook (.ipynb) to download.

The chapters are MyST Markdown notebooks. Readers who run them somewhere other than a clone of
this repository expect an `.ipynb`, so at build time each notebook page is converted with
jupytext (code and text, no outputs) to `_sources/<page>.ipynb`, next to the Markdown source
Sphinx already copies there. The page then links to it twice: a line under the chapter title,
and the ".ipynb" entry of the theme's download menu (sphinx-book-theme shows that entry when
the page context names an `ipynb_source` under `_sources/`).

Loaded from _config.yml (`sphinx: local_extensions: ipynb_download: site/`).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.osutil import relative_uri

LINK_TEXT = "Download this chapter as a Jupyter notebook (.ipynb)"


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
    if source is None:
        return
    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)  # a plain notebook, not paired with a .md file
    target = Path(app.outdir) / _target(pagename)
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, target, fmt="ipynb")
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", add_link)
    # Before sphinx-book-theme builds its header buttons (priority 501).
    app.connect("html-page-context", write_notebook, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
