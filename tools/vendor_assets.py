"""Sphinx extension (local, see ``_config.yml``): serve vendored JavaScript from ``_static/vendor``.

Jupyter Book 1.x adds *every* ``.js``/``.css`` file under ``_static`` to *every* page.
The vendored copies of require.js, the ipywidgets embed manager and MathJax
(``tools/vendor_js.sh``) must instead load only where needed: MathJax through
``mathjax_path`` on pages with math, the widget scripts through ``nb_ipywidgets_js`` on
pages with widgets. This extension removes ``vendor/`` entries from the page-wide lists
and fails early, with the fix, if the files were never vendored.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

VENDOR_PREFIX = "vendor/"
# Loaded through nb_ipywidgets_js, on widget pages only, before require.js.
WIDGET_PAGE_ONLY = ("vae-widgets.js",)


def _name(entry) -> str:
    return entry[0] if isinstance(entry, list | tuple) else str(entry)


def _config_inited(app: Sphinx, config: Config) -> None:
    config.html_js_files = [
        e
        for e in config.html_js_files
        if not _name(e).startswith(VENDOR_PREFIX) and _name(e) not in WIDGET_PAGE_ONLY
    ]
    config.html_css_files = [
        e for e in config.html_css_files if not _name(e).startswith(VENDOR_PREFIX)
    ]
    static = Path(app.srcdir, "_static")
    wanted = [config.mathjax_path, *getattr(config, "nb_ipywidgets_js", {})]
    missing = [
        p for p in wanted if p.startswith(VENDOR_PREFIX) and not static.joinpath(p).is_file()
    ]
    if missing:
        raise ConfigError(
            f"vendored JavaScript missing under _static/: {', '.join(missing)}; "
            "run `tools/vendor_js.sh` (`make book` does it)"
        )


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated <script>s. Sphinx 7.4 keeps a body-only script added after the builder
    started twice (its filename None vs ''), so sphinx-thebe's `const THEBE_JS_URL = ...`
    ran twice and threw "Identifier 'THEBE_JS_URL' has already been declared" on every page."""
    seen, unique = set(), []
    for js in context.get("script_files", []):
        key = (js.filename or "", tuple(sorted((k, str(v)) for k, v in js.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _config_inited, priority=900)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
