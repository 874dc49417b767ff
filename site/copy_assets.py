"""Copy the front-end files the offline site needs from node_modules/ into site/static/vendor/.

`npm ci` installs the exact versions pinned in package-lock.json; this script then copies only
the files a page loads at run time (no source maps, no unused bundles), so the built site
never asks a CDN for anything:

- @jupyter-widgets/html-manager's `embed.js` (renders the widget state that myst-nb
  embeds in each page; the bundle for ipywidgets' built-in widgets, which needs no
  require.js and is half the size of `embed-amd.js`) and the font files its CSS points to;
- MathJax 3's `tex-mml-chtml.js` with the fonts, TeX extensions, menu and accessibility
  modules it loads on demand.

Sphinx serves site/static/ as `_static/` (see `html_static_path` in _config.yml). The vendor
folder is rebuilt from scratch every time and is git-ignored.

Usage: python site/copy_assets.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "site" / "static" / "vendor"
# The bundle finds its fonts at `<assets path>/html-manager/dist/`, so keep the npm layout.
HTML_MANAGER = "@jupyter-widgets/html-manager/dist"

# (package, path inside the package: a file or a folder, destination inside VENDOR)
FILES = [
    ("@jupyter-widgets/html-manager", "dist/embed.js", f"{HTML_MANAGER}/embed.js"),
    ("@jupyter-widgets/html-manager", "dist/embed.js.LICENSE.txt", f"{HTML_MANAGER}/LICENSE.txt"),
    ("mathjax", "LICENSE", "mathjax/LICENSE"),
    ("mathjax", "es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"),
    ("mathjax", "es5/output/chtml/fonts/woff-v2", "mathjax/output/chtml/fonts/woff-v2"),
    ("mathjax", "es5/input/tex/extensions", "mathjax/input/tex/extensions"),
    ("mathjax", "es5/ui", "mathjax/ui"),
    ("mathjax", "es5/a11y", "mathjax/a11y"),
    ("mathjax", "es5/sre", "mathjax/sre"),
]
# The widget CSS refers to Font Awesome fonts by their webpack-hashed names next to the bundle.
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")


def package_dir(package: str) -> Path:
    """The installed package's folder, after checking it is the version package.json pins."""
    folder = NODE_MODULES / package
    if not folder.is_dir():
        sys.exit(f"copy_assets: {folder} is missing; run `npm ci` first (make assets does).")
    wanted = json.loads((ROOT / "package.json").read_text())["devDependencies"][package]
    installed = json.loads((folder / "package.json").read_text())["version"]
    if installed != wanted:
        sys.exit(f"copy_assets: {package} {installed} is installed, {wanted} pinned; run `npm ci`.")
    return folder


def main() -> None:
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    for package, source, destination in FILES:
        src, dst = package_dir(package) / source, VENDOR / destination
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    dist = package_dir("@jupyter-widgets/html-manager") / "dist"
    for font in sorted(dist.iterdir()):
        if font.suffix in FONT_SUFFIXES:
            shutil.copy2(font, VENDOR / HTML_MANAGER / font.name)
    files = [p for p in VENDOR.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"copy_assets: {len(files)} files, {size / 1e6:.1f} MB in {VENDOR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
