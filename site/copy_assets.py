"""Copy the front-end files the offline site needs from node_modules/ into site/static/vendor/.

`npm ci` installs the exact versions pinned in package-lock.json; this script then copies only
the files a page loads at run time (no source maps, no unused bundles), so the built site
never asks a CDN for anything:

- @jupyter-widgets/html-manager's `embed.js` (renders the widget state that myst-nb
  embeds in each page; the bundle for ipywidgets' built-in widgets, which needs no
  require.js and is half the size of `embed-amd.js`) and the font files its CSS points to;
- MathJax 3's `tex-mml-chtml.js` with the fonts, TeX extensions, menu and accessibility
  modules it loads on demand.

One line of the widget bundle is changed on the way (`patch_embed`): it builds its JSON-schema
validator (ajv) for the widget state with default options, and ajv's default strict mode then
logs "strict mode: use allowUnionTypes to allow union type keyword" on every page with widgets,
because ipywidgets' state schema uses union types on purpose. The validator is given
`allowUnionTypes: true`, which accepts that schema as written (it validates exactly as before).

Sphinx serves site/static/ as `_static/` (see `html_static_path` in _config.yml). The vendor
folder is rebuilt from scratch every time and is git-ignored.

Usage: python site/copy_assets.py
"""

from __future__ import annotations

import json
import re
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
# In embed.js, html-manager's `const ajv = new Ajv();` before it compiles the schemas of the
# widget state and views (lib/libembed.js), as webpack minified it: `<ajv>=new(<Ajv>())`.
AJV_RE = re.compile(r"(\.v2\.view,[\w$]+=new\([\w$]+\(\)\))(,)")
AJV_OPTIONS = "({allowUnionTypes:!0})"
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


def patch_embed(path: Path) -> None:
    """Create the bundle's schema validator with `allowUnionTypes` (see the docstring)."""
    text = path.read_text(encoding="utf-8")
    patched, count = AJV_RE.subn(lambda m: m.group(1) + AJV_OPTIONS + m.group(2), text)
    if count != 1:
        sys.exit(
            f"copy_assets: found {count} places (expected 1) where {path.name} creates its "
            "schema validator; html-manager changed: update AJV_RE in site/copy_assets.py."
        )
    path.write_text(patched, encoding="utf-8")


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
    patch_embed(VENDOR / HTML_MANAGER / "embed.js")
    dist = package_dir("@jupyter-widgets/html-manager") / "dist"
    for font in sorted(dist.iterdir()):
        if font.suffix in FONT_SUFFIXES:
            shutil.copy2(font, VENDOR / HTML_MANAGER / font.name)
    files = [p for p in VENDOR.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"copy_assets: {len(files)} files, {size / 1e6:.1f} MB in {VENDOR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
