"""Sphinx extension (local, see ``_config.yml``): small fixes to the HTML that Sphinx writes.

Citation roles. docutils writes the bibliography (sphinxcontrib-bibtex) as ``<div
role="list">`` holding ``<div role="doc-biblioentry">`` entries; ``doc-biblioentry`` is
deprecated in WAI-ARIA 1.3, and a ``list`` must hold ``listitem`` children, so axe-core reports
a critical violation (aria-required-children) on the references page. The entries become
``role="listitem"``. (docutils 0.21 still writes it; tests/test_browser.py runs axe-core on
every page.)
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _fix_roles(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _fix_roles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
