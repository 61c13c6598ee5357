"""Precompute every state of an explorer into nested stacks, switched by JavaScript links.

A Python callback (``interact``, ``observe``) runs only where there is a kernel; the built book
has none. So an explorer precomputes its display for EVERY position of its controls and lays
the results out in nested :class:`ipywidgets.Stack` widgets, one level per control. Each
control's ``index`` is tied to the ``selected_index`` of its stacks with
:func:`ipywidgets.jsdlink`, a link that runs in the browser's JavaScript: in the static page
(whose widget state myst-nb embeds) moving a slider switches the visible figure and numbers with
no Python at all, and in a kernel it is the same instant switch. A Python observer mirrors the
links so that :meth:`Explorer.select` works without a front end (tests, benchmarks).

This module knows nothing about VAEs: it imports nothing from ``vae``.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image


def png_bytes(fig: Figure, colors: int | None = 256) -> bytes:
    """Render a matplotlib figure (at its own dpi) to PNG bytes.

    ``colors`` quantizes to a palette of that many colours: with 256 the explorers' line, bar
    and digit plots look the same as in full RGB at a third of the size (and encode twice as
    fast); with fewer, anti-aliased text and lines turn ragged. ``None`` keeps full RGB.
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    if colors is not None:
        img = img.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    img.save(out, format="png")
    return out.getvalue()


def png_width(png: bytes) -> int:
    """The width in pixels of a PNG image (read from its header)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big")


def clear_data(ax: Axes) -> None:
    """Remove an axes' data artists and legend but keep its ticks and labels (``ax.clear()``
    rebuilds the ticks, which costs most of a redraw)."""
    for artist in [*ax.patches, *ax.lines, *ax.texts, *ax.collections, *ax.images]:
        artist.remove()
    ax.containers.clear()  # bar containers, which legends also read
    if ax.get_legend() is not None:
        ax.get_legend().remove()


def img_tag(png: bytes, alt: str, density: float = 1.0) -> str:
    """An ``<img>`` element with the PNG inlined as a data URI.

    ``density`` is the image's pixels per CSS pixel: a figure rendered at twice the dpi it is
    shown at (``density=2``) stays sharp on high-resolution screens and when zoomed. The image
    never grows past its natural size and shrinks with the column.
    """
    data = base64.b64encode(png).decode("ascii")
    width = round(png_width(png) / density)
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        f'width="{width}" style="max-width:100%;height:auto;display:block">'
    )


def figure_row(*images: str) -> str:
    """Images side by side that wrap one under the other when the column is too narrow."""
    cells = "".join(f"<div style='flex:0 1 auto;min-width:0'>{img}</div>" for img in images)
    style = "display:flex;flex-wrap:wrap;gap:4px 12px"
    return f"<div class='vae-figures' style='{style}'>{cells}</div>"


def numbers_html(rows: Sequence[tuple[str, str]], note: str = "") -> str:
    """A two-column HTML table of (label, value) rows, values right-aligned, and a note below."""
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;font-weight:normal'>{k}</th>"
        f"<td style='text-align:right;font-family:monospace'>{v}</td></tr>"
        for k, v in rows
    )
    extra = f"<div style='font-size:90%;color:#555'>{note}</div>" if note else ""
    return f"<table class='vae-numbers'>{cells}</table>{extra}"


def fmt(v: float) -> str:
    """A number with three decimals and a true minus sign (U+2212)."""
    return f"{v:.3f}".replace("-", "\u2212")


@dataclass
class Panel:
    """One precomputed display: ``leaf(state)`` is called for every combination of the
    controls named in ``depends`` (in that order); ``state`` maps those names to indices."""

    depends: Sequence[str]
    leaf: Callable[[dict[str, int]], widgets.Widget]
    skip: Callable[[dict[str, int]], Sequence[str]] = lambda state: ()
    """Names of controls (of ``depends``) that do not matter given the state so far."""


@dataclass
class Explorer:
    """A widget whose every state is precomputed; see the module docstring.

    Attributes:
        widget: the box to display.
        controls: name -> selection widget (``index`` is the state).
        trees: one per panel: its leaf, or the outermost of its nested stacks.
        stacks: (control name, stack) pairs, the targets of the links.
        links: the :func:`ipywidgets.jsdlink` links from controls to stacks.
        results: the numbers behind the figures, for glue/asserts in the chapters.
    """

    widget: widgets.Widget
    controls: dict[str, widgets.Widget]
    trees: list[widgets.Widget] = field(default_factory=list)
    stacks: list[tuple[str, widgets.Stack]] = field(default_factory=list)
    links: list[widgets.Widget] = field(default_factory=list)
    results: dict = field(default_factory=dict)

    def _ipython_display_(self) -> None:  # display(explorer) shows the widget
        from IPython.display import display

        display(self.widget)

    def select(self, **indices: int) -> None:
        """Set controls by index (``explorer.select(M=2, q=0)``), as a reader would."""
        for name, i in indices.items():
            self.controls[name].index = i

    def visible_leaves(self) -> list[widgets.Widget]:
        """The leaf widgets currently shown (one per panel), following the stacks."""
        out = []
        for child in self.trees:
            while isinstance(child, widgets.Stack):
                child = child.children[child.selected_index]
            out.append(child)
        return out


def all_states(explorer: Explorer) -> Iterator[dict[str, int]]:
    """Every combination of the explorer's control indices, as ``{name: index}``."""
    names = list(explorer.controls)
    ranges = [range(len(explorer.controls[n].options)) for n in names]
    for combo in itertools.product(*ranges):
        yield dict(zip(names, combo, strict=True))


def _build_tree(panel: Panel, state: dict[str, int], explorer: Explorer) -> widgets.Widget:
    remaining = [n for n in panel.depends if n not in state and n not in panel.skip(state)]
    if not remaining:
        return panel.leaf(dict(state))
    name = remaining[0]
    control = explorer.controls[name]
    children = [
        _build_tree(panel, {**state, name: i}, explorer) for i in range(len(control.options))
    ]
    stack = widgets.Stack(children, selected_index=control.index)
    explorer.stacks.append((name, stack))
    explorer.links.append(widgets.jsdlink((control, "index"), (stack, "selected_index")))
    return stack


def make_explorer(
    controls: dict[str, widgets.Widget],
    panels: Sequence[Panel],
    header: widgets.Widget | None = None,
    results: dict | None = None,
) -> Explorer:
    """Assemble an :class:`Explorer`: controls on top, then one nested stack per panel."""
    explorer = Explorer(widget=widgets.VBox(), controls=controls, results=results or {})
    explorer.trees = [_build_tree(p, {}, explorer) for p in panels]

    def mirror(change: dict, name: str) -> None:  # the Python twin of the JS links
        for n, stack in explorer.stacks:
            if n == name:
                stack.selected_index = change["new"]

    for name, control in controls.items():
        control.observe(lambda change, name=name: mirror(change, name), names="index")
    top = [header] if header is not None else []
    box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    explorer.widget.children = [*top, box, *explorer.trees]
    explorer.widget.add_class("vae-explorer")
    return explorer
