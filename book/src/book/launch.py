"""Sphinx extension: the Colab and Binder buttons open the chapter's generated notebook.

sphinx-book-theme points both at the ``.md`` source on the book's branch: Colab cannot open
it, and Binder's JupyterLab shows its MyST unresolved (glue names, "Citation Not Found", no
captions). Both now open ``<docname>.ipynb`` on the notebooks branch, written by
``python -m book.notebooks`` (``make notebooks``) with the book's numbers filled in. On GitHub
Actions (``$GITHUB_REPOSITORY``), the repository button, the launch buttons and Thebe point at
the repository the build runs in. Thebe keeps running the page's cells on the source branch.

``_config.yml``: ``sphinx.extra_extensions: [book.launch]``; config value ``colab_branch``
(the notebooks branch, default ``notebooks``).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from book.repository import Repository


def _repository(app: Any) -> Repository:
    options = app.config.html_theme_options
    url = os.environ.get("GITHUB_REPOSITORY") or options.get("repository_url", "")
    return _parsed(url, options.get("repository_branch") or "main", app.config.colab_branch)


@functools.cache
def _parsed(url: str, branch: str, notebooks_branch: str) -> Repository:
    """The book's repository, parsed once per build rather than once per page."""
    config = {
        "repository": {"url": url, "branch": branch},
        "sphinx": {"config": {"colab_branch": notebooks_branch}},
    }
    return Repository.from_config(config)


def _repository_from_environment(app: Any, config: Any) -> None:
    """Before the theme reads the URL (builder-inited): a fork's buttons lead to the fork."""
    if os.environ.get("GITHUB_REPOSITORY"):
        config.html_theme_options["repository_url"] = _repository(app).url


def _point_launch_buttons(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    repo = _repository(app)
    for button in context.get("header_buttons", []):
        for item in button.get("buttons", []) if isinstance(button, dict) else []:
            if item.get("text") == "Colab":
                item["url"] = repo.colab_url(pagename)
            elif item.get("text") == "Binder":
                item["url"] = repo.binder_url(pagename)


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("colab_branch", "notebooks", "html")
    app.connect("config-inited", _repository_from_environment)
    # After sphinx-book-theme's own launch-button handler (priority 501).
    app.connect("html-page-context", _point_launch_buttons, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
