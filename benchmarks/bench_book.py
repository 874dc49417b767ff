"""Worker: how long the book takes to execute and build, and how heavy its pages are.

1. A clean build (`jupyter-book build`) into a temporary folder, so the user's
   `_build/html` and its execution cache are left alone. The build executes every chapter
   once; each chapter's execution time (kernel start included) is read back from the
   build's jupyter-cache.
2. A cached rebuild of every page (`--all`) into the same folder: Sphinx starts over, but
   the notebooks' outputs come from the cache, so nothing is executed.
3. Page weight of every chapter page: the HTML (which embeds the widgets' state, i.e. the
   sliders' PNG frames in base64) plus the images it references.

A chapter with a failing cell is reported as failed (jupyter-cache keeps no time for it).
A chapter the build did not reach is executed on its own with nbclient and timed, and so
is every chapter with `--execute-only` or while the book has no `_config.yml`. The cached
rebuild runs only after a clean build that exited without error.

    python benchmarks/bench_book.py [--execute-only] [--keep DIR]
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
ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def execute_chapter(path: Path) -> dict:
    """Execute one MyST notebook in a fresh kernel; wall time including the kernel start."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    start = time.perf_counter()
    try:
        client.execute()
        error = None
    except Exception as err:  # report the failure, keep timing the other chapters
        last_line = ANSI.sub("", str(err)).strip().splitlines()[-1]
        error = f"{type(err).__name__}: {last_line[:200]}"
    return {"seconds": time.perf_counter() - start, "error": error}


def run_build(out: Path, toc: Path, rebuild_all: bool) -> dict:
    """`jupyter-book build` into `out`; wall time, exit code and the problems it logged.

    The book's configuration is used with one change: a failing cell does not stop the
    build (`execute.raise_on_error: false`), so that one broken chapter does not hide the
    timings and page weights of the others. Failures still show up here (`problems`) and
    in the verdicts; `make test` is what checks the book.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})["raise_on_error"] = False
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
    return {
        "seconds": seconds,
        "returncode": proc.returncode,
        "notebooks_executed": sum("Executing notebook using" in line for line in lines),
        "warnings": len(problems),
        "problems": [line[:300] for line in problems[:20]],
    }


def cached_execution_times(out: Path) -> dict[str, float]:
    """Execution seconds per notebook, from the jupyter-cache that the build filled."""
    from jupyter_cache import get_cache

    cache_dir = out / "_build" / ".jupyter_cache"
    if not cache_dir.exists():
        return {}
    times = {}
    for record in get_cache(cache_dir).list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            times[Path(record.uri).resolve().relative_to(ROOT).as_posix()] = float(seconds)
    return times


def page_weight(html: Path) -> dict:
    """Bytes of a built page: its HTML, the widget state embedded in it, its images."""
    text = html.read_text(encoding="utf-8")
    state = sum(len(m.encode()) for m in WIDGET_STATE.findall(text))
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
        "total_bytes": html_bytes + images,
        "widgets": text.count("application/vnd.jupyter.widget-view+json"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toc", default=os.environ.get("TOC", "_toc.yml"))
    parser.add_argument("--execute-only", action="store_true", help="no build, nbclient only")
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temp dir)")
    args = parser.parse_args()
    toc = (ROOT / args.toc).resolve()
    notebooks = chapters(toc)
    result: dict = {"chapters": [p.relative_to(ROOT).as_posix() for p in notebooks]}

    if args.execute_only or not (ROOT / "_config.yml").exists():
        result["method"] = "nbclient, one fresh kernel per chapter"
        result["execution"] = {
            p.relative_to(ROOT).as_posix(): execute_chapter(p) for p in notebooks
        }
        print(json.dumps(result))
        return

    result["method"] = "jupyter-book build into a temporary folder; times from its jupyter-cache"
    out = args.keep or Path(tempfile.mkdtemp(prefix="bench-book-"))
    try:
        result["clean_build"] = run_build(out, toc, rebuild_all=False)
        times = cached_execution_times(out)
        result["execution"] = {}
        failed = [line for line in result["clean_build"]["problems"] if "notebook failed" in line]
        for path in notebooks:
            name = path.relative_to(ROOT).as_posix()
            failure = next((line for line in failed if str(path) in line), None)
            if name in times:
                result["execution"][name] = {"seconds": times[name], "error": None, "by": "build"}
            elif failure:  # executed by the build, but a cell failed: no time recorded
                error = failure.split("failed:", 1)[-1].strip()
                result["execution"][name] = {"seconds": None, "error": error, "by": "build"}
            else:  # the build stopped before this chapter: time it on its own
                result["execution"][name] = {**execute_chapter(path), "by": "nbclient"}
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
