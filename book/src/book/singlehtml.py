"""Sphinx extension (local, see ``_config.yml``): the single-page HTML build (`make pdf`).

Sphinx looks up a node's HTML visitors under the builder's name and falls back to those
registered for ``html`` only when NO extension registered any for that name. sphinx-exercise
(1.2) registers its nodes for ``singlehtml``, so the fallback is lost for every other extension:
``jupyter-book build --builder singlehtml`` then fails with "unknown node type:
<HideCodeCellNode>" (myst-nb registers its nodes for ``html`` only). This copies every ``html``
visitor that has no ``singlehtml`` one, which is what the fallback would have done. Drop it
when sphinx-exercise stops registering ``singlehtml`` visitors of its own, or Sphinx merges the
two lookups.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _builder_inited(app: Sphinx) -> None:
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
