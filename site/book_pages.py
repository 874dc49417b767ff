"""Sphinx extension: the book's own changes to the HTML of its pages.

Each change fixes something a reader meets (measured in headless Chromium with axe-core,
tests/site/), in this book's files rather than in the installed theme:

- Fast first paint. myst-nb puts a page's widget state (every slider frame, megabytes) in
  `<head>`, so nothing can be drawn before it has arrived; it becomes a deferred script of
  its own (`_static/widgets/<page>.js`), which puts it back into the page before the widget
  manager looks for it. Sphinx's search scripts (the search index
  grows with the book) stop blocking the first paint (`defer`), and the theme's 1.5 MB Font
  Awesome script goes: the theme's stylesheet and web fonts already draw the same icons.
- No layout shift. Before the widgets are drawn, each slider's place is held by a
  placeholder of the same height (its label, its track, and a box with the frames' width and
  height); static figures get `width` and `height` attributes for the same reason.
- Accessibility. The "Show code cell source" toggle loses an `aria-label` that hid its
  visible text; bibliography entries become list items (`doc-biblioentry` is a deprecated
  role that a `role="list"` may not contain).
- Builds that recover. A build that fails still runs the theme's `build-finished` handler,
  which copies the logo to `_static` before any build step has made that folder, so the logo
  became a *file* named `_static` and every later build failed on it. `_static` is made a
  folder first (and such a file from an older build is removed).
- Valid markup. sphinx-exercise gives the body of every exercise and solution the same id
  (`exercise-content`, `solution-content`), repeated up to six times on a page: each body
  takes its exercise's or solution's own id plus `-content` (keeping the old name as a class,
  which nothing in the theme styles by id). Sphinx's base layout, the theme and docutils
  each write a viewport `<meta>`; only the base layout's is kept.
- A quiet console. The theme and sphinx-togglebutton log what they did on every page
  ("[PST]: Changed to light mode...", "[togglebutton]: Adding toggle buttons to 12 items"),
  and a console message is how a problem shows; their copies in the site's `_static` lose
  these informational `console.log/info/debug` calls (errors and warnings stay).
- `index.html` is a titled page in English that forwards to the first page (a bare
  `<meta>` redirect has neither).

Loaded from _config.yml (`sphinx: local_extensions: book_pages: site/`).
"""

from __future__ import annotations

import html
import json
import re
import struct
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.writers._html_base import HTMLTranslator as DocutilsHTMLTranslator
from myst_nb.sphinx_ import HideCodeCellNode
from sphinx.application import Sphinx

WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"
VIEW_RE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>', re.DOTALL
)
IMG_RE = re.compile(r"<img\b[^>]*>")
SRC_RE = re.compile(r'\ssrc="([^"]+)"')
SLIDER_CLASS = "nnscratch-slider"  # nnscratch.widgets.SLIDER_CLASS
MODEL_RE = re.compile(r"^IPY_MODEL_(.+)$")
# Scripts of the theme that the pages do without, or load without blocking the first paint.
DROPPED_SCRIPTS = ("_static/scripts/fontawesome.js",)
DEFERRED_SCRIPTS = ("_static/searchtools.js", "_static/language_data.js", "searchindex.js")


# --- Widgets: state at the end of the body, placeholders of the right height ---------------


def slider_placeholders(state: dict[str, Any], model_id: str) -> list[dict[str, Any]]:
    """The book's sliders under widget `model_id`, in the order the page draws them.

    Each is `{"label": str, "width": int, "height": int, "css_width": str | None}`: the
    slider's label, the size of its frames (`nnscratch.widgets.frame_slider` declares it on
    every `Image`) and the CSS width the chapter asked for (None: the frames' own width).
    """
    found: list[dict[str, Any]] = []

    def children(model: dict[str, Any]) -> list[str]:
        ids = []
        for ref in model["state"].get("children", []):
            match = MODEL_RE.match(str(ref))
            if match and match.group(1) in state:
                ids.append(match.group(1))
        return ids

    def visit(mid: str) -> None:
        model = state.get(mid)
        if model is None:
            return
        if SLIDER_CLASS in model["state"].get("_dom_classes", []):
            slider_id, stack_id = children(model)[:2]
            images = [state[i]["state"] for i in children(state[stack_id])]
            layout = MODEL_RE.match(str(images[0].get("layout", ""))) if images else None
            css_width = None
            if layout and layout.group(1) in state:
                css_width = state[layout.group(1)]["state"].get("width")
            found.append(
                {
                    "label": state[slider_id]["state"].get("description", ""),
                    "width": max(int(image.get("width") or 0) for image in images),
                    "height": max(int(image.get("height") or 0) for image in images),
                    "css_width": css_width,
                }
            )
            return
        for child in children(model):
            visit(child)

    visit(model_id)
    return found


def placeholder_html(slider: dict[str, Any]) -> str:
    """Markup that takes the height the slider will take (styled in site/static/book.css)."""
    width, height = slider["width"], slider["height"]
    css_width = html.escape(slider.get("css_width") or f"{width}px")
    image = ""
    if width > 0 and height > 0:
        image = (
            f'<div class="nnscratch-reserve-image" '
            f'style="width: {css_width}; aspect-ratio: {width} / {height}"></div>'
        )
    return (
        '<div class="nnscratch-reserve" aria-hidden="true">'
        f'<div class="nnscratch-reserve-label">{html.escape(slider["label"])}</div>'
        '<div class="nnscratch-reserve-track"></div>'
        f"{image}</div>"
    )


def reserve_widget_space(body: str, state: dict[str, Any]) -> str:
    """Put a placeholder before every widget view that shows the book's sliders.

    The widget manager draws each view just before its `<script>`, after the placeholder;
    site/static/offline-widgets.js removes the placeholder once the view is complete.
    """

    def add(match: re.Match) -> str:
        try:
            model_id = json.loads(match.group(1))["model_id"]
        except (ValueError, KeyError):
            return match.group(0)
        sliders = slider_placeholders(state, model_id)
        if not sliders:
            return match.group(0)
        reserve = "".join(placeholder_html(s) for s in sliders)
        return f'<div class="nnscratch-reserves">{reserve}</div>{match.group(0)}'

    return VIEW_RE.sub(add, body)


# The widget state of a page as a script of its own, which puts it back in the page.
STATE_SCRIPT = """\
// The widget state of {page} (written by site/book_pages.py). Deferred, it runs after the
// page has been drawn and before the widget manager looks for the state, at the load event.
(function (text) {{
  var tag = document.createElement("script");
  tag.type = "{type}";
  tag.textContent = text;
  document.body.appendChild(tag);
}})(
{text}
);
"""


def state_script(pagename: str, state_json: str) -> str:
    """The script that adds `state_json` to the page as a widget-state `<script>`."""
    return STATE_SCRIPT.format(page=pagename, type=WIDGET_STATE_TYPE, text=json.dumps(state_json))


def read_state_script(script: str) -> dict[str, Any]:
    """The widget state that `state_script` wrote (for the browser tests)."""
    line = next(line for line in script.splitlines() if line.startswith('"'))
    return json.loads(json.loads(line))


def move_widget_state(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    """Serve the widget state as a deferred script of its own; reserve the widgets' space.

    The state holds every frame of every slider (up to megabytes). Inline, it made the page
    itself that heavy, and the page shared the network with the stylesheets that the first
    paint waits for; as a deferred script it comes after them, with the widget scripts.
    """
    scripts = context.get("script_files", [])
    states = [s for s in scripts if getattr(s, "attributes", {}).get("type") == WIDGET_STATE_TYPE]
    if not states or "body" not in context:
        return
    body = context["body"]
    for number, script in enumerate(states):
        text = script.attributes["body"]
        body = reserve_widget_space(body, json.loads(text)["state"])
        name = f"widgets/{pagename}{'' if number == 0 else f'-{number}'}.js"
        path = Path(app.outdir, "_static", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(state_script(pagename, text), encoding="utf-8")
        # In the state's place, so that it runs before the widget scripts that follow it.
        app.builder.add_js_file(name, defer="defer")
        scripts[scripts.index(script)] = scripts.pop()
    context["body"] = body


# --- Static images: their size in the markup -------------------------------------------------


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG file's header, or None if it is not a PNG."""
    try:
        with open(path, "rb") as file:
            head = file.read(24)
    except OSError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def add_image_sizes(body: str, sizes: dict[str, tuple[int, int]]) -> str:
    """Give every `<img>` whose file name is in `sizes` its `width` and `height`."""

    def add(match: re.Match) -> str:
        tag = match.group(0)
        src = SRC_RE.search(tag)
        if not src or " width=" in tag or " height=" in tag:
            return tag
        size = sizes.get(src.group(1).rsplit("/", 1)[-1])
        if size is None:
            return tag
        end = -2 if tag.endswith("/>") else -1
        return f'{tag[:end].rstrip()} width="{size[0]}" height="{size[1]}"{tag[end:]}'

    return IMG_RE.sub(add, body)


def size_static_images(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    if "body" not in context:
        return
    sizes = {}
    for source, name in app.builder.images.items():
        size = png_size(Path(app.srcdir, source))
        if size is not None:
            sizes[name] = size
    context["body"] = add_image_sizes(context["body"], sizes)


# --- Theme scripts ----------------------------------------------------------------------------

SCRIPT_RE = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]*)\"[^>]*>\s*</script>\s*")


def adjust_scripts(markup: str) -> str:
    """Drop `DROPPED_SCRIPTS` and defer `DEFERRED_SCRIPTS` in a block of the page template."""

    def edit(match: re.Match) -> str:
        path = match.group(1).split("?", 1)[0]
        if path.endswith(DROPPED_SCRIPTS):
            return ""
        tag = match.group(0)
        if path.endswith(DEFERRED_SCRIPTS) and " defer" not in tag:
            return tag.replace("<script ", "<script defer ", 1)
        return tag

    return SCRIPT_RE.sub(edit, str(markup))


def register_template_filter(app: Sphinx) -> None:
    """Filters of site/templates/: `adjust_scripts`, `drop_viewport`, `quiet_logs`."""
    templates = getattr(app.builder, "templates", None)
    if templates is not None and hasattr(templates, "environment"):
        from markupsafe import Markup

        templates.environment.filters["adjust_scripts"] = lambda text: Markup(adjust_scripts(text))
        templates.environment.filters["drop_viewport"] = lambda text: Markup(drop_viewport(text))
        templates.environment.filters["quiet_logs"] = lambda text: Markup(quiet_logs(text))


# --- Accessible markup ------------------------------------------------------------------------


def visit_hide_cell(self, node: HideCodeCellNode) -> None:
    """myst-nb's toggle, minus `aria-label`: the visible "Show code cell source" names it."""
    classes = " ".join(node["classes"])
    show, hide = html.escape(node["prompt_show"]), html.escape(node["prompt_hide"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{show}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{hide}</p>\n')
    self.body.append("</summary>\n")


def depart_hide_cell(self, node: HideCodeCellNode) -> None:
    self.body.append("</details>\n")


def visit_citation(self, node: nodes.citation) -> None:
    """A bibliography entry as a list item of docutils' `role="list"` wrapper."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


# Section ids that sphinx-exercise gives every exercise's and solution's body.
REPEATED_IDS = ("exercise-content", "solution-content")
VIEWPORT_RE = re.compile(r'\s*<meta\s+name="viewport"[^>]*>')


def unique_content_ids(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each exercise's and solution's body `<id of its exercise or solution>-content`.

    Nothing refers to the repeated ids (references and the toggle buttons use the exercise's
    and solution's own ids), so renaming them breaks no link.
    """
    taken = set(doctree.ids)
    for section in doctree.findall(nodes.section):
        repeated = [i for i in section["ids"] if i in REPEATED_IDS]
        if not repeated:
            continue
        owner = section.parent
        while owner is not None and not owner.get("ids"):
            owner = owner.parent
        stem = owner["ids"][0] if owner is not None else f"{docname}-{repeated[0]}"
        new = f"{stem}-content"
        number = 1
        while new in taken:
            number += 1
            new = f"{stem}-content-{number}"
        taken.add(new)
        section["ids"] = [new if i in REPEATED_IDS else i for i in section["ids"]]
        section["classes"] += [i for i in repeated if i not in section["classes"]]


def drop_viewport(markup: str) -> str:
    """A block of the page without its viewport `<meta>` (Sphinx's base layout writes one)."""
    return VIEWPORT_RE.sub("", str(markup))


def one_viewport_tag(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    """docutils' HTML5 writer adds a viewport tag to a page's `metatags`: drop it."""
    if "metatags" in context:
        context["metatags"] = drop_viewport(context["metatags"])


# --- index.html -------------------------------------------------------------------------------

INDEX_HTML = """<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta http-equiv="refresh" content="0; url={target}">
<link rel="canonical" href="{target}">
<link rel="icon" href="favicon.ico" sizes="any">
</head>
<body>
<main>
<h1>{title}</h1>
<p>The book starts at <a href="{target}">{first}</a>.</p>
</main>
</body>
</html>
"""


def write_index(app: Sphinx, exception: Exception | None) -> None:
    """Replace the bare redirect that sphinx-external-toc writes with a titled page."""
    if exception is not None or app.builder.format != "html":
        return
    root = app.config.root_doc
    if root == "index":
        return
    title = app.config.html_title or app.config.project
    first = app.env.titles[root].astext() if root in app.env.titles else title
    page = INDEX_HTML.format(
        language=app.config.language or "en",
        title=html.escape(title),
        first=html.escape(first),
        target=html.escape(f"{root}.html"),
    )
    Path(app.outdir, "index.html").write_text(page, encoding="utf-8")


# Scripts of the theme and extensions (paths in the output's `_static`) that log on every page.
CHATTY_SCRIPTS = (
    "scripts/pydata-sphinx-theme.js",
    "scripts/sphinx-book-theme.js",
    "togglebutton.js",
)
LOG_CALL_RE = re.compile(r"\bconsole\.(?:log|info|debug)\(")


def quiet_logs(script: str) -> str:
    """`console.log(a, b)` (or info, debug) becomes `void(a, b)`: an expression wherever the
    call was, which still evaluates its arguments."""
    return LOG_CALL_RE.sub("void(", str(script))


def quiet_scripts(app: Sphinx, exception: Exception | None) -> None:
    """Drop the informational console calls of CHATTY_SCRIPTS (their arguments still run)."""
    if exception is not None or app.builder.format != "html":
        return
    for name in CHATTY_SCRIPTS:
        path = Path(app.outdir, "_static", name)
        if path.is_file():
            path.write_text(quiet_logs(path.read_text(encoding="utf-8")), encoding="utf-8")


def static_folder(app: Sphinx, *_: Any) -> None:
    """Make `_static` in the output a folder, removing a file of that name if one is there."""
    static = Path(app.outdir, "_static")
    if static.is_file() or static.is_symlink():
        static.unlink()
    static.mkdir(parents=True, exist_ok=True)


def setup(app: Sphinx) -> dict:
    # Before anything is written, and before the theme's logo copy at the end of a build
    # (priority 500), even one that failed.
    app.connect("builder-inited", static_folder)
    app.connect("build-finished", static_folder, priority=100)
    # After myst-nb's own html-page-context handler (priority 500), which adds the state.
    app.connect("html-page-context", move_widget_state, priority=900)
    app.connect("html-page-context", size_static_images, priority=900)
    app.connect("html-page-context", one_viewport_tag, priority=900)
    app.connect("doctree-resolved", unique_content_ids)
    app.connect("builder-inited", register_template_filter)
    app.connect("build-finished", write_index, priority=900)
    app.connect("build-finished", quiet_scripts, priority=900)
    app.add_node(HideCodeCellNode, override=True, html=(visit_hide_cell, depart_hide_cell))
    app.add_node(
        nodes.citation,
        override=True,
        html=(visit_citation, DocutilsHTMLTranslator.depart_citation),
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
