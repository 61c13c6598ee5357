"""Precompute every state of an explorer into nested switches, flipped by JavaScript links.

A Python callback (``interact``, ``observe``) runs only where there is a kernel; the built book
has none. So an explorer precomputes its display for EVERY position of its controls and lays
the results out in nested *switches* (containers that show one child at a time), one level per
control. Each control's ``index`` is tied to the ``selected_index`` of its switches with
:func:`ipywidgets.jsdlink`, a link that runs in the browser's JavaScript: in the static page
(whose widget state myst-nb embeds) moving a slider switches the visible figure and numbers with
no Python at all, and in a kernel it is the same instant switch. A Python observer mirrors the
links so that :meth:`Explorer.select` works without a front end (tests, benchmarks, nbconvert).

The switch is :class:`ipywidgets.Stack` where it exists (ipywidgets >= 8.0: JupyterLab, VS Code,
the static page). ipywidgets 7 (Google Colab's built-in widget manager, classic Notebook 6 with
widgetsnbextension 3) has no ``Stack``; there the switch is an :class:`ipywidgets.Tab` whose
``selected_index`` is linked the same way, with its tab bar and frame hidden by a ``<style>``
that each explorer carries in its own widget tree (:data:`SWITCH_STYLE`), so it also works in
Colab, which renders each output in a frame of its own.

This module knows nothing about VAEs: it imports nothing from ``vae``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets

HAS_STACK = hasattr(widgets, "Stack")
"""Whether this ipywidgets has ``Stack`` (new in 8.0); else the switches are hidden-bar Tabs."""

SWITCH_CLASS = "vae-switch"
"""The DOM class of every switch (a ``Stack``, or a ``Tab`` under ipywidgets 7)."""

SWITCH_STYLE = (
    "<style>"
    f".{SWITCH_CLASS} > .widget-tab-bar, .{SWITCH_CLASS} > .p-TabBar, "
    f".{SWITCH_CLASS} > .lm-TabBar {{display: none !important;}}"
    f".{SWITCH_CLASS} > .widget-tab-contents {{border: none !important; "
    "padding: 0 !important; margin: 0 !important; overflow: visible !important;}"
    "</style>"
)
"""CSS that makes an ipywidgets-7 ``Tab`` look like a ``Stack``: no tab bar, no frame."""

_Switch = widgets.Stack if HAS_STACK else widgets.Tab


def switch(children: Sequence[widgets.Widget], selected_index: int) -> widgets.Widget:
    """A container showing only ``children[selected_index]``: a ``Stack``, or under
    ipywidgets 7 a ``Tab`` whose bar :data:`SWITCH_STYLE` hides."""
    box = _Switch(list(children), selected_index=selected_index)
    box.add_class(SWITCH_CLASS)
    return box


class Leaves:
    """HTML leaves made once per key, all sharing the first leaf's layout and style models.

    States that show the same thing share one leaf (its images are embedded in the page once),
    and the page's widget state holds one layout and one style model instead of one per leaf.
    """

    def __init__(self) -> None:
        self._by_key: dict[Hashable, widgets.HTML] = {}
        self._first: widgets.HTML | None = None

    def get(self, key: Hashable, make_html: Callable[[], str]) -> widgets.HTML:
        """The leaf for ``key``; ``make_html()`` is called only the first time."""
        if key not in self._by_key:
            if self._first is None:
                self._first = widgets.HTML(make_html())
                self._by_key[key] = self._first
            else:
                shared = {"layout": self._first.layout, "style": self._first.style}
                self._by_key[key] = widgets.HTML(make_html(), **shared)
        return self._by_key[key]

    def __len__(self) -> int:
        return len(self._by_key)


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
        trees: one per panel: its leaf, or the outermost of its nested switches.
        stacks: (control name, switch) pairs, the targets of the links.
        links: the :func:`ipywidgets.jsdlink` links from controls to switches.
        results: the numbers behind the figures (to quote or check them).
    """

    widget: widgets.Widget
    controls: dict[str, widgets.Widget]
    trees: list[widgets.Widget] = field(default_factory=list)
    stacks: list[tuple[str, widgets.Widget]] = field(default_factory=list)
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
        """The leaf widgets currently shown (one per panel), following the switches."""
        out = []
        for child in self.trees:
            while isinstance(child, _Switch) and SWITCH_CLASS in child._dom_classes:
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
    box = switch(children, control.index)
    explorer.stacks.append((name, box))
    explorer.links.append(widgets.jsdlink((control, "index"), (box, "selected_index")))
    return box


def make_explorer(
    controls: dict[str, widgets.Widget],
    panels: Sequence[Panel],
    header: widgets.Widget | None = None,
    results: dict | None = None,
) -> Explorer:
    """Assemble an :class:`Explorer`: controls on top, then one nested switch per panel."""
    explorer = Explorer(widget=widgets.VBox(), controls=controls, results=results or {})
    explorer.trees = [_build_tree(p, {}, explorer) for p in panels]

    def mirror(change: dict, name: str) -> None:  # the Python twin of the JS links
        for n, box in explorer.stacks:
            if n == name:
                box.selected_index = change["new"]

    for name, control in controls.items():
        control.observe(lambda change, name=name: mirror(change, name), names="index")
    top = [header] if header is not None else []
    if not HAS_STACK:  # the CSS of the Tab switches travels with the explorer
        top.insert(0, widgets.HTML(SWITCH_STYLE, layout=widgets.Layout(display="none")))
    box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    explorer.widget.children = [*top, box, *explorer.trees]
    explorer.widget.add_class("vae-explorer")
    return explorer
