"""book: the machinery of the executable book, apart from the ``vae`` library.

* :func:`book.glue` (:mod:`book.numbers`) -- the numbers the prose quotes, several per call;
* :func:`book.trained` (:mod:`book.reuse`) -- train a model, or load it where another chapter
  (or an earlier build) trained the same model with the same data and settings;
* :mod:`book.toc` -- the chapters, read from ``_toc.yml``;
* :mod:`book.digest` -- the digest of the ``vae`` package that keys the build's caches;
* :mod:`book.sphinx_fixes` -- a Sphinx extension that mends the HTML.

Installed by requirements.txt (``-e ./book``); ``pip install vae`` does not install it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue", "trained"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `python -m book.toc` (no torch) starts fast and cleanly.
    if name == "glue":
        from book.numbers import glue

        return glue
    if name == "trained":
        from book.reuse import trained

        return trained
    raise AttributeError(f"module 'book' has no attribute {name!r}")
