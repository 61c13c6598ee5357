"""Colab notebooks for the chapters, and the Colab launch button that points at them.

Colab opens only ``.ipynb`` files from GitHub, and the chapters are MyST Markdown. So:

* ``python tools/colab.py OUT`` writes one notebook per chapter into ``OUT/chapters/``
  (jupytext conversion) with a first cell that installs the ``vae`` package from the
  repository named in ``_config.yml`` when it is not importable: a no-op locally and on
  Binder, where the package is installed. Publish ``OUT`` to the branch named by
  ``colab_branch`` (default ``notebooks``); see the README.
* As a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) it rewrites the
  theme's Colab button, which would point at the ``.md`` source, to that notebook.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
COLAB = "https://colab.research.google.com"

INSTALL_CELL = '''\
# Colab: install the book's companion package `vae` when it is missing.
# (A no-op locally and on Binder, where it is already installed.)
import importlib.util

if importlib.util.find_spec("vae") is None:
    %pip install --quiet "vae @ git+{url}@{branch}"'''


def repository() -> dict[str, str]:
    """``repository`` settings of ``_config.yml`` (url, branch), the single source of truth."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config.get("repository", {})
    return {"url": repo["url"].rstrip("/"), "branch": repo.get("branch", "main")}


def colab_notebook(chapter: Path) -> nbformat.NotebookNode:
    """The chapter as a notebook whose first cell installs ``vae`` if it is missing."""
    nb = jupytext.read(chapter)
    repo = repository()
    cell = nbformat.v4.new_code_cell(INSTALL_CELL.format(**repo))
    cell.metadata["tags"] = ["remove-cell"]
    nb.cells.insert(0, cell)
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    return nb


def write_notebooks(out: Path) -> list[Path]:
    """Write ``out/chapters/<chapter>.ipynb`` for every MyST chapter; return the paths."""
    written = []
    for chapter in sorted((ROOT / "chapters").glob("*.md")):
        if not chapter.read_text().startswith("---\njupytext:"):
            continue  # plain Markdown pages (API, references) are not notebooks
        target = out / "chapters" / chapter.with_suffix(".ipynb").name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(colab_notebook(chapter), target)
        written.append(target)
    return written


def _rewrite_colab_button(app: Any, pagename: str, templatename: str, context: dict, doctree: Any):
    url = app.config.html_theme_options.get("repository_url") or repository()["url"]
    org_repo = "/".join(url.rstrip("/").split("github.com/", 1)[-1].split("/")[:2])
    branch = app.config.colab_branch
    for button in context.get("header_buttons", []):
        for item in button.get("buttons", []) if isinstance(button, dict) else []:
            if item.get("text") == "Colab":
                item["url"] = f"{COLAB}/github/{org_repo}/blob/{branch}/{pagename}.ipynb"


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("colab_branch", "notebooks", "html")
    # After sphinx-book-theme's own launch-button handler (priority 501).
    app.connect("html-page-context", _rewrite_colab_button, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "_build" / "notebooks")
    for path in write_notebooks(out):
        print(path)
