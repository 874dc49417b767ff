"""Copy the generated chapter notebooks into the folder `make lab` opens, keeping readers' edits.

    python site/lab_notebooks.py _build/html/_sources _build/lab

The build writes each chapter as a standalone notebook under `_build/html/_sources/` (see
ipynb_download.py); JupyterLab opens copies of them in `_build/lab/`, so that saving a notebook
there never touches the book's sources. A copy is replaced by the newly generated notebook
unless the reader changed its text or code (outputs don't count: they come back when the cells
run); an edited copy is kept, with a note saying how to get the current version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

STATE = ".generated.json"  # fingerprints of the notebooks last copied


def fingerprint(path: Path) -> str:
    """A hash of a notebook's cell types and sources (not its outputs or metadata)."""
    cells = json.loads(path.read_text("utf8")).get("cells", [])
    content = [(cell.get("cell_type"), "".join(cell.get("source", ""))) for cell in cells]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def sync(sources: Path, lab: Path, root: Path) -> list[str]:
    """Copy `sources/**/*.ipynb` to `lab/` (flat); return one line per notebook for the log."""
    notebooks = sorted(sources.rglob("*.ipynb"))
    names: dict[str, Path] = {}
    for notebook in notebooks:
        if notebook.name in names:
            raise SystemExit(f"two generated notebooks named {notebook.name}: {notebook}")
        names[notebook.name] = notebook
    lab.mkdir(parents=True, exist_ok=True)
    state_file = lab / STATE
    state = json.loads(state_file.read_text("utf8")) if state_file.is_file() else {}
    log = []
    for name, generated in names.items():
        target = lab / name
        new = fingerprint(generated)
        if target.is_file() and fingerprint(target) not in (state.get(name), new):
            log.append(f"kept your edited {target} (delete it to get the current chapter)")
            continue
        shutil.copyfile(generated, target)
        state[name] = new
        source = json.loads(generated.read_text("utf8")).get("metadata", {})
        chapter = source.get("standalone_notebook", {}).get("source")
        if chapter and (root / chapter).is_file():
            if (root / chapter).stat().st_mtime > generated.stat().st_mtime:
                log.append(f"{target} is older than {chapter}: did its build fail?")
                continue
        log.append(f"{target}")
    state_file.write_text(json.dumps(state, indent=1, sort_keys=True), "utf8")
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path, help="the built site's _sources folder")
    parser.add_argument("lab", type=Path, help="the folder JupyterLab opens")
    args = parser.parse_args(argv)
    if not any(args.sources.rglob("*.ipynb")):
        print(f"no generated notebooks in {args.sources}: the book build failed?", file=sys.stderr)
        return 1
    for line in sync(args.sources, args.lab, Path.cwd()):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
