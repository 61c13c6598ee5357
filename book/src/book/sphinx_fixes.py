"""Sphinx extension (``book.sphinx_fixes`` in ``_config.yml``): small fixes to the written HTML.

Citation roles. docutils writes the bibliography (sphinxcontrib-bibtex) as ``<div
role="list">`` holding ``<div role="doc-biblioentry">`` entries; ``doc-biblioentry`` is
deprecated in WAI-ARIA 1.3, and a ``list`` must hold ``listitem`` children, so axe-core reports
a critical violation (aria-required-children) on the references page. The entries become
``role="listitem"``. (docutils 0.21 still writes it; tests/test_browser.py runs axe-core on
every page.)

Font Awesome once. pydata-sphinx-theme 0.16 loads Font Awesome twice on every page: its
stylesheet carries the icon web fonts and the CSS that draws every ``fa-*`` icon, and
``fontawesome.js`` (1.5 MB, "so that users can add custom icons", which this book does not)
replaces the same icons by SVGs. After the build, the script tag is removed from every page; the
icons are drawn by the web fonts. (PST's own templates offer no switch for it, up to 0.17.)
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx

FONTAWESOME_JS = re.compile(
    r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>'
)


def _fix_roles(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object
) -> None:
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def _drop_fontawesome_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = FONTAWESOME_JS.sub("", text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _fix_roles)
    app.connect("build-finished", _drop_fontawesome_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
