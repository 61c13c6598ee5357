"""Numbers for the book's prose that a reader of the live notebook sees too.

The chapters put every number their prose quotes into the text with myst-nb's *glue*: a
code cell tagged ``remove-cell`` calls ``glue(name, value)`` and the prose pastes the value
with ``{glue:text}`name```. In the HTML book the cell is removed and the number sits in
the sentence. Run live (Binder, JupyterLab, Colab), Markdown cells cannot paste a value, so
:func:`glue` also prints ``name = value`` as the cell's output, right above the prose that
quotes it. Without myst-nb (a plain Colab image) it only prints.
"""

from __future__ import annotations

__all__ = ["glue"]


def glue(name: str, value: object, display: bool = False) -> None:
    """Store ``value`` under ``name`` for ``{glue:text}`` roles, and print ``name = value``.

    Args:
        name: the key the prose pastes with ``{glue:text}`name```; unique per chapter.
        value: what the prose shows, usually a string already formatted (units in the
            prose, log-densities in nats).
        display: passed to ``myst_nb.glue``: whether the stored value is also an output of
            the cell in the HTML book. The chapters leave it ``False`` and tag glue cells
            ``remove-cell``, so the HTML shows the number only in the sentence.

    Raises:
        ValueError: if ``name`` is empty or contains whitespace (a role cannot name it).
    """
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"glue name must be a non-empty word, got {name!r}")
    try:
        from myst_nb import glue as store
    except ImportError:  # a plain Colab image: nothing builds HTML from this run
        store = None
    if store is not None:
        store(name, value, display=display)
    if store is None or not display:
        print(f"{name} = {value}")
