"""Worker: how long the book takes to execute and build, and how heavy its pages are.

1. A clean build (`jupyter-book build`) into a temporary folder, so the user's
   `_build/html` and its execution cache are left alone: every chapter executes once, from a
   cold cache, and its execution time (kernel start included, wall-clock) is read back from
   the build's jupyter-cache. The build runs with the book's configuration except that a
   failing cell neither stops the notebook nor the build (`allow_errors`), so a chapter whose
   hidden assertions fail is still executed to its end and timed; its failing cells are
   reported beside its time (`make test` is what fails on them).
2. A cached rebuild of every page (`--all`) into the same folder: Sphinx starts over, but
   the notebooks' outputs come from the cache, so nothing is executed.
3. Page weight of every chapter page: the HTML (which embeds the widgets' state, i.e. the
   sliders' PNG frames in base64) plus the images it references.

A chapter the build recorded no time for (a cell timed out, the kernel died, the build
stopped early) is executed on its own with nbclient and timed, and so is every chapter with
`--execute-only` or while the book has no `_config.yml`. `--from-cache DIR` builds nothing:
it reads the times that the last build into DIR (e.g. `_build`, from `make book`) recorded in
`DIR/.jupyter_cache`, for the chapters whose current text that cache holds.

    python benchmarks/bench_book.py [--execute-only | --from-cache _build] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S
)
IMG_SRC = re.compile(r'<img[^>]*\ssrc="([^"]+)"')
STATE_SCRIPT = re.compile(r'<script[^>]* src="([^"]*_static/widgets/[^"]+\.js[^"]*)"')
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FAILED_LINE = re.compile(r"\s*-+>\s*\d+\s+(.*\S)")  # IPython's marker in a traceback


def toc_files(toc: Path) -> list[str]:
    """Every `file:` entry of a Jupyter Book table of contents, in order (root first)."""
    data = yaml.safe_load(toc.read_text())
    files = [data["root"]]

    def walk(node) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in data.items() if k != "root"})
    return files


def chapters(toc: Path) -> list[Path]:
    """The notebooks the book executes: toc entries under chapters/ that exist."""
    found = []
    for entry in toc_files(toc):
        path = ROOT / (entry if entry.endswith(".md") else entry + ".md")
        if entry.startswith("chapters/") and path.exists():
            found.append(path)
    return found


def cell_errors(notebook) -> list[str]:
    """`Name: message` of every error output in an executed notebook, in cell order."""
    errors = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            message = ANSI.sub("", str(output.get("evalue", ""))).strip().splitlines()
            if not message:  # a bare `assert`: show the line that failed (`---> 25 assert ...`)
                lines = ANSI.sub("", "\n".join(output.get("traceback", []))).splitlines()
                message = [m.group(1) for line in lines if (m := FAILED_LINE.match(line))]
            errors.append(f"{output.get('ename')}: {message[-1][:160] if message else ''}")
    return errors


def execute_chapter(path: Path) -> dict:
    """Execute one MyST notebook in a fresh kernel, every cell even if one fails.

    Returns the wall time including the kernel start, the error outputs of failing cells,
    and `error` if the execution itself did not finish (a timeout, a dead kernel).
    """
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": path.parent}},
    )
    start = time.perf_counter()
    try:
        client.execute()
        error = None
    except Exception as err:  # report the failure, keep timing the other chapters
        last_line = ANSI.sub("", str(err)).strip().splitlines()[-1]
        error = f"{type(err).__name__}: {last_line[:200]}"
    seconds = None if error else time.perf_counter() - start
    return {"seconds": seconds, "error": error, "cells_failed": cell_errors(notebook)}


def run_build(out: Path, toc: Path, rebuild_all: bool) -> dict:
    """`jupyter-book build` into `out`; wall time, exit code and the problems it logged.

    The book's configuration is used with one change: a failing cell neither stops its
    notebook nor the build (`execute.allow_errors: true`, `raise_on_error: false`), so that
    one broken chapter does not hide the timings and page weights of the others, and is
    itself timed to its end. Its failing cells are reported with its time; `make test` is
    what checks the book.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {}).update(raise_on_error=False, allow_errors=True)
    # Jupyter Book finds local extensions relative to the configuration file.
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in extensions.items():
        extensions[name] = str((ROOT / folder).resolve())
    config_path = out / "bench_config.yml"
    out.mkdir(parents=True, exist_ok=True)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT)]
    cmd += ["--path-output", str(out), "--toc", str(toc), "--config", str(config_path)]
    cmd += ["--keep-going"]
    if rebuild_all:
        cmd.append("--all")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    (out / f"build{'-all' if rebuild_all else ''}.log").write_text(log)
    lines = ANSI.sub("", log).splitlines()
    # Sphinx's own "path: WARNING: message" lines (not the kernels' stderr chatter).
    problems = [line for line in lines if re.search(r"\b(WARNING|ERROR|CRITICAL): ", line)]
    if proc.returncode != 0 and not problems:  # e.g. "Extension error (...)": say why
        problems = [
            line.strip()
            for line in lines
            if re.search(r"[Ee]rror\b(?![=_])|exception", line) and "Config(" not in line
        ]
        problems = [line for line in problems if not line.startswith(("File ", "raise "))][:3]
    return {
        "seconds": seconds,
        "returncode": proc.returncode,
        "notebooks_executed": sum("Executing notebook using" in line for line in lines),
        "warnings": len(problems),
        "problems": [line[:300] for line in problems[:20]],
    }


def cached_executions(cache_dir: Path) -> dict[str, dict]:
    """Per notebook (path relative to the book), the newest execution a jupyter-cache holds.

    Each entry: `seconds` (the execution time the build recorded), `created` (when) and
    `cells_failed` (error outputs kept in the cached notebook, present with `allow_errors`).
    """
    from jupyter_cache import get_cache

    if not cache_dir.exists():
        return {}
    cache = get_cache(cache_dir)
    found: dict[str, dict] = {}
    for record in cache.list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        path = Path(record.uri).resolve()
        if seconds is None or not path.is_relative_to(ROOT):
            continue
        name = path.relative_to(ROOT).as_posix()
        if name in found and found[name]["created"] >= record.created.timestamp():
            continue
        found[name] = {
            "seconds": float(seconds),
            "created": record.created.timestamp(),
            "pk": record.pk,
        }
    for entry in found.values():
        entry["cells_failed"] = cell_errors(cache.get_cache_bundle(entry.pop("pk")).nb)
    return found


def from_cache(build_dir: Path, notebooks: list[Path]) -> dict[str, dict]:
    """Execution times a previous build into `build_dir` recorded, for the current chapters.

    A chapter edited after its newest cached execution has no time here (`error` says so):
    the cache holds the time of an older text.
    """
    cached = cached_executions(build_dir / ".jupyter_cache")
    execution = {}
    for path in notebooks:
        name = path.relative_to(ROOT).as_posix()
        entry = cached.get(name)
        if entry is None:
            error = f"no execution of it in {build_dir / '.jupyter_cache'}"
        elif path.stat().st_mtime > entry["created"]:
            error = "edited since its last cached execution: rebuild the book first"
        else:
            error = None
        if error:
            execution[name] = {"seconds": None, "error": error, "cells_failed": [], "by": "cache"}
        else:
            execution[name] = {**entry, "error": None, "by": "cache"}
    return execution


def page_weight(html: Path) -> dict:
    """Bytes of a built page: its HTML, its widget state, its images.

    The widget state is inline or, as site/book_pages.py serves it, in a script of its own
    (`_static/widgets/<page>.js`), which counts towards the page's total.
    """
    text = html.read_text(encoding="utf-8")
    state = sum(len(m.encode()) for m in WIDGET_STATE.findall(text))
    state_files = 0
    for src in set(STATE_SCRIPT.findall(text)):
        target = (html.parent / src.split("?")[0]).resolve()
        if target.is_file():
            state_files += target.stat().st_size
    state += state_files
    images = 0
    for src in set(IMG_SRC.findall(text)):
        if src.startswith(("data:", "http:", "https:")):
            continue
        target = (html.parent / src.split("#")[0].split("?")[0]).resolve()
        if target.is_file():
            images += target.stat().st_size
    html_bytes = html.stat().st_size
    return {
        "html_bytes": html_bytes,
        "widget_state_bytes": state,
        "image_bytes": images,
        "total_bytes": html_bytes + state_files + images,
        "widgets": text.count("application/vnd.jupyter.widget-view+json"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toc", default=os.environ.get("TOC", "_toc.yml"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--execute-only", action="store_true", help="no build, nbclient only")
    mode.add_argument(
        "--from-cache", type=Path, metavar="DIR", help="no build: times from DIR/.jupyter_cache"
    )
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temp dir)")
    args = parser.parse_args()
    toc = (ROOT / args.toc).resolve()
    notebooks = chapters(toc)
    result: dict = {"chapters": [p.relative_to(ROOT).as_posix() for p in notebooks]}

    if args.from_cache:
        cache_dir = (ROOT / args.from_cache).resolve()
        result["method"] = f"times recorded by the last build in {cache_dir} (nothing executed)"
        result["execution"] = from_cache(cache_dir, notebooks)
        print(json.dumps(result))
        return

    if args.execute_only or not (ROOT / "_config.yml").exists():
        result["method"] = "nbclient, one fresh kernel per chapter"
        result["execution"] = {
            p.relative_to(ROOT).as_posix(): {**execute_chapter(p), "by": "nbclient"}
            for p in notebooks
        }
        print(json.dumps(result))
        return

    result["method"] = (
        "clean jupyter-book build into a temporary folder; times from its jupyter-cache"
    )
    out = args.keep or Path(tempfile.mkdtemp(prefix="bench-book-"))
    try:
        result["clean_build"] = run_build(out, toc, rebuild_all=False)
        cached = cached_executions(out / "_build" / ".jupyter_cache")
        result["execution"] = {}
        for path in notebooks:
            name = path.relative_to(ROOT).as_posix()
            if name in cached:
                entry = {k: v for k, v in cached[name].items() if k != "created"}
                result["execution"][name] = {**entry, "error": None, "by": "build"}
            else:  # the build recorded no time (timeout, dead kernel, stopped): time it alone
                result["execution"][name] = {**execute_chapter(path), "by": "nbclient"}
        if any(e["by"] == "nbclient" for e in result["execution"].values()):
            result["method"] += "; chapters it kept no time for executed alone with nbclient"
        if result["clean_build"]["returncode"] == 0:
            result["cached_rebuild"] = run_build(out, toc, rebuild_all=True)
        html_dir = out / "_build" / "html"
        result["pages"] = {
            name: page_weight(html_dir / Path(name).with_suffix(".html"))
            for name in result["chapters"]
            if (html_dir / Path(name).with_suffix(".html")).exists()
        }
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
