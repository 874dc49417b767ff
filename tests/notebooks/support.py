"""What the tests of the downloadable notebooks share: paths, the chapters, the minimal venv."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SOURCES = SITE / "_sources"
SCREENSHOTS = ROOT / "_build" / "screenshots"
KERNEL_NAME = "nnscratch-minimal"

# The installed distributions of a venv against the requirements of the given roots, followed
# transitively (markers evaluated for this interpreter). Run by the venv's own python.
CLOSURE_SCRIPT = r"""
import json, sys
from importlib import metadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

installed = {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions()}
needed, todo = set(), [(Requirement(r), "") for r in sys.argv[1:]]
while todo:
    requirement, extra = todo.pop()
    name = canonicalize_name(requirement.name)
    if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
        continue
    extras = requirement.extras or {""}
    if (name, frozenset(extras)) in needed:
        continue
    needed.add((name, frozenset(extras)))
    for line in metadata.requires(name) or []:
        for chosen in extras:
            todo.append((Requirement(line), chosen))
print(json.dumps({"installed": sorted(installed), "needed": sorted({n for n, _ in needed})}))
"""


def toc_chapters() -> list[str]:
    """The pages of the table of contents whose source is a MyST Markdown notebook."""
    toc = ROOT / os.environ.get("TOC", "_toc.yml")
    data = yaml.safe_load(toc.read_text("utf8"))
    files: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    chapters = []
    for name in dict.fromkeys(files):
        path = ROOT / (name if name.endswith(".md") else f"{name}.md")
        if path.is_file() and _is_notebook(path):
            chapters.append(name.removesuffix(".md"))
    return chapters


def _is_notebook(path: Path) -> bool:
    """A MyST notebook has `jupytext` and `kernelspec` in its front matter."""
    text = path.read_text("utf8")
    if not text.startswith("---"):
        return False
    front = yaml.safe_load(text.split("---", 2)[1]) or {}
    return "jupytext" in front and "kernelspec" in front


CHAPTERS = toc_chapters()


def run(*command: str | Path, cwd: Path = ROOT) -> str:
    proc = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    return proc.stdout


@dataclass
class MinimalKernel:
    """A venv with the wheel, its notebook extra and ipykernel, registered as a kernel."""

    prefix: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    @property
    def kernels(self) -> Path:
        return self.prefix / "share" / "jupyter" / "kernels"

    def manager(self):
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager

        specs = KernelSpecManager(kernel_dirs=[str(self.kernels)])
        return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def chapter_with_slider() -> str:
    """The chapter the JupyterLab test opens: LAB_CHAPTER if set, else the first chapter of the
    table of contents whose built page embeds an ipywidgets view (a slider)."""
    if os.environ.get("LAB_CHAPTER"):
        return os.environ["LAB_CHAPTER"]
    for chapter in CHAPTERS:
        page = SITE / f"{chapter}.html"
        if page.is_file() and WIDGET_MIME in page.read_text("utf8"):
            return chapter
    pytest.fail(f"no chapter page in {SITE} shows a widget: build the book first", pytrace=False)


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def printed_json(cell) -> object:
    """The JSON a code cell printed: its stdout stream outputs joined, then parsed.

    A kernel may deliver one `print` in several stream messages (nbclient keeps each as an
    output of its own), the last of them possibly a bare newline, so no single output is the
    whole text.
    """
    text = "".join(
        output["text"]
        for output in cell.outputs
        if output["output_type"] == "stream" and output["name"] == "stdout"
    )
    return json.loads(text)
