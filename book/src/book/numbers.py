"""Numbers for the book's prose that a reader of the live notebook sees too.

The chapters put every number their prose quotes into the text with myst-nb's *glue*: a code
cell tagged ``remove-cell`` calls ``glue({name: value, ...})`` and the prose pastes each value
with ``{glue:text}`name```. In the HTML book the cell is removed and the number sits in the
sentence. The notebooks that Colab and Binder open are generated with the numbers already
written into their sentences (:mod:`book.notebook`), so a live run needs no output from here:
with myst-nb installed (the book's build, Binder) :func:`glue` only stores. Without myst-nb (a
plain Colab runtime) nothing can store, and it prints ``name = value`` lines instead, which the
Colab test compares with the HTML.

A minus sign in a number is written as the true minus, U+2212 (typography: a hyphen-minus is
shorter and breaks lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["glue", "as_text"]

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
    """Store each ``name: value`` for ``{glue:text}`name``` roles, and print ``name = value``.

    Args:
        values: names (unique per chapter; hyphens welcome) and what the prose shows for each,
            usually strings already formatted (units in the prose, log-densities in nats).

    Raises:
        ValueError: if a name is empty or contains whitespace (a role cannot name it).
    """
    for name in values:
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise ValueError(f"glue name must be a non-empty word, got {name!r}")
    try:
        from myst_nb import glue as store
    except ImportError:  # a plain Colab image: nothing builds HTML from this run
        store = None
    for name, value in values.items():
        shown = as_text(value)
        if store is not None:
            store(name, shown, display=False)
    if store is None:
        print("\n".join(f"{name} = {as_text(value)}" for name, value in values.items()))
