"""Sphinx extension (local, see ``_config.yml``): resolve ``vae.Name`` to where it is documented.

The package re-exports its public API (``vae.VAE``, ``vae.LinearGaussian``, ...) from
``vae/__init__.py``, but the API reference documents each object in its module
(``vae.model.VAE``, ``vae.linear.LinearGaussian``). This resolves a Python cross-reference
such as ``{class}`vae.LinearGaussian``` that has no target of its own to the documented
object it names, so chapters may use either spelling.
"""

from __future__ import annotations

import importlib

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

PACKAGE = "vae"


def _canonical(target: str) -> str | None:
    parts = target.split(".")
    if len(parts) < 2 or parts[0] != PACKAGE:
        return None
    try:
        obj = importlib.import_module(PACKAGE)
        for name in parts[1:]:
            obj = getattr(obj, name)
    except (ImportError, AttributeError):
        return None
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        return None
    canonical = f"{module}.{qualname}"
    return canonical if canonical != target else None


def _missing_reference(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    if node.get("refdomain") != "py":
        return None
    canonical = _canonical(node.get("reftarget", ""))
    if canonical is None:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node.get("refdoc", ""), app.builder, node["reftype"], canonical, node, contnode
    )


def setup(app: Sphinx) -> dict:
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
