"""Numbers for the book's prose that a reader of the live notebook sees too.

The chapters put every number their prose quotes into the text with myst-nb's *glue*: a code
cell tagged ``remove-cell`` calls ``glue({name: value, ...})`` and the prose pastes each value
with ``{glue:text}`name```. In the HTML book the cell is removed and the number sits in the
sentence. The notebooks that Colab and Binder open are generated with the numbers already
written into their sentences (:mod:`book.notebook`), so a live run needs no output from here:
with myst-nb installed (the book's build, Binder) :func:`glue` only stores. Without myst-nb (a
plain Colab runtime) nothing can store, and it prints ``name = value`` lines instead, which the
Colab test compares with the HTML.

Storing is what ``myst_nb.glue(name, value, display=False)`` does (myst-nb 1.x): one display
output per value whose MIME types carry the prefix :data:`GLUE_PREFIX` and whose metadata say
the name under ``"scrapbook"``; the book's build reads them back from the executed notebook.
:func:`glue` writes that output itself rather than importing ``myst_nb.ext.glue``, whose
imports (nbformat, jsonschema and its format checkers) cost about 1.4 s of CPU in every
chapter's kernel; tests/book/test_numbers.py checks that the two outputs are the same.

A minus sign in a number is written as the true minus, U+2212 (typography: a hyphen-minus is
shorter and breaks lines).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping

__all__ = ["glue", "as_text"]

GLUE_PREFIX = "application/papermill.record/"
"""The prefix of a stored value's MIME types (``myst_nb.ext.glue.GLUE_PREFIX``)."""

MINUS = "\u2212"
_HYPHEN_MINUS = re.compile(r"(?<![\w.])-(?=\.?\d)")
"""A hyphen-minus that is a number's sign: not after a letter, digit or point (1e-5, 3-4)."""


def as_text(value: object) -> object:
    """``value`` as the prose shows it: numbers and strings with each number's hyphen-minus
    sign replaced by U+2212; anything else (a figure, a table) unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str):
        return _HYPHEN_MINUS.sub(MINUS, value)
    return value


def glue(values: Mapping[str, object]) -> None:
    """Store each ``name: value`` for ``{glue:text}`name``` roles where myst-nb is installed;
    print ``name = value`` lines where it is not.

    Args:
        values: names (unique per chapter; hyphens welcome) and what the prose shows for each,
            usually strings already formatted (units in the prose, log-densities in nats).

    Raises:
        ValueError: if a name is empty or contains whitespace (a role cannot name it).
    """
    for name in values:
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise ValueError(f"glue name must be a non-empty word, got {name!r}")
    if importlib.util.find_spec("myst_nb") is None:  # a plain Colab image: nothing to store for
        print("\n".join(f"{name} = {as_text(value)}" for name, value in values.items()))
        return
    for name, value in values.items():
        _store(name, as_text(value))


def _store(name: str, value: object) -> None:
    """The display output of ``myst_nb.glue(name, value, display=False)`` (myst-nb 1.x), without
    importing myst-nb: ``value``'s formatted MIME bundle under :data:`GLUE_PREFIX`."""
    import IPython.core.formatters
    import IPython.display

    bundle, metadata = IPython.core.formatters.format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    IPython.display.display(
        {GLUE_PREFIX + mime: data for mime, data in bundle.items()}, raw=True, metadata=metadata
    )
