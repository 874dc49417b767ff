"""Sphinx extension: rewrite every page when the site's own files change.

Sphinx copies static files only when it writes at least one page, and stamps each script URL
with a checksum (`?v=...`) when it writes the page that loads it. So after a change to
site/static/offline-widgets.js, or to the vendored front-end files after an update of
package-lock.json, a build with no changed chapter would keep serving the old copies; the
same goes for a change to a template in site/templates/ or to the Sphinx extensions in
site/ that rewrite the pages' HTML. This extension keeps a digest of those files (the static
path, the templates path, and the Python files next to it) in the build environment and marks
every page as outdated when the digest changes. Notebook execution is cached by content, so
this costs no re-execution.

Loaded from _config.yml (`sphinx: local_extensions: static_refresh: site/`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment


def _site_files(app: Sphinx) -> list[tuple[Path, Path]]:
    """(root, file) for every static file, template, and extension of this site."""
    roots = [Path(app.confdir, entry) for entry in app.config.html_static_path]
    roots += [Path(app.confdir, entry) for entry in app.config.templates_path]
    files = [(root, path) for root in roots if root.is_dir() for path in root.rglob("*")]
    here = Path(__file__).resolve().parent
    files += [(here, path) for path in here.glob("*.py")]
    return sorted((root, path) for root, path in files if path.is_file())


def _static_digest(app: Sphinx) -> str:
    digest = hashlib.sha256()
    for root, path in _site_files(app):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def outdate_all_if_static_changed(
    app: Sphinx, env: BuildEnvironment, added: set, changed: set, removed: set
) -> list[str]:
    digest = _static_digest(app)
    if getattr(env, "static_refresh_digest", None) == digest:
        return []
    env.static_refresh_digest = digest
    return sorted(env.found_docs - added - changed)


def setup(app: Sphinx) -> dict:
    app.connect("env-get-outdated", outdate_all_if_static_changed)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
