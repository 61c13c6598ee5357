"""The class explorer of the conditional VAE: the reader picks a label, the page shows what the
decoder draws for it.

Every state is precomputed (one small PNG per class), so the explorer works in the static HTML.
It is built with :func:`vae.widgets.stack.make_explorer` from a :class:`ipywidgets.ToggleButtons`
and :class:`ipywidgets.HTML` leaves (both in ipywidgets 7 and 8), and draws with the helpers of
:mod:`vae.widgets.render`.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import torch
from torch import Tensor

from vae.conditional import ConditionalVAE
from vae.plot import image_grid_png
from vae.widgets.render import img_tag, numbers_html
from vae.widgets.stack import Explorer, Leaves, Panel, make_explorer

__all__ = ["class_explorer", "grid_png"]


def grid_png(x: Tensor, ncol: int) -> bytes:
    """Images of counts [N, 64] tiled ``ncol`` to a row as a PNG with one pixel per image pixel:
    counts 0..16 from white to black, the gaps between the images pale grey
    (:func:`vae.plot.image_grid_png`). The page enlarges it without smoothing."""
    return image_grid_png(x, ncol=ncol)


def _grid_z(n: int, extent: float, dtype: torch.dtype) -> Tensor:
    """The n x n grid of z over [-extent, extent]^2, row-major, largest z2 first: [n*n, 2]."""
    values = torch.linspace(-extent, extent, n, dtype=dtype)
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")  # top row: largest z2
    return torch.stack([z1, z2], dim=-1).reshape(n * n, 2)


def _leaf_html(images: Tensor, y: int, n: int, extent: float, scale: int) -> str:
    """The decoded grid of class ``y`` (``images`` [n*n, D]) with its caption, as HTML."""
    lo, hi = f"\u2212{extent:g}", f"{extent:g}"
    alt = (
        f"a {n} by {n} grid of digits decoded with label {y}, "
        f"z from {-extent:g} to {extent:g} in both coordinates"
    )
    return img_tag(grid_png(images, ncol=n), alt, scale=scale) + (
        f"<div style='font-size:90%'>E[x | z, y = {y}] on a {n} × {n} grid of z: "
        f"z<sub>1</sub> from {lo} (left) to {hi} (right), "
        f"z<sub>2</sub> from {hi} (top) to {lo} (bottom)</div>"
    )


@torch.no_grad()
def class_explorer(
    model: ConditionalVAE,
    extent: float = 2.0,
    n: int = 5,
    numbers: Sequence[Sequence[tuple[str, str]]] | None = None,
    initial: int = 0,
    scale: int = 6,
) -> Explorer:
    """Pick a class y with toggle buttons; see the decoder's means E[x | z, y] on the same
    ``n`` x ``n`` grid of z over [-extent, extent]^2 for every class (needs M = 2).

    Args:
        model: a trained :class:`~vae.conditional.ConditionalVAE` with ``latent_dim`` 2.
        extent: the grid spans [-extent, extent] in both coordinates of z.
        n: grid points per coordinate.
        numbers: per class, (label, value) rows shown under its picture (optional).
        initial: the class shown first.
        scale: screen pixels per image pixel.

    ``explorer.results["images"]`` is the [C, n * n, D] tensor of decoded digits (row-major,
    largest z2 first) and ``results["z"]`` the [n * n, 2] grid.
    """
    if model.latent_dim != 2:
        raise ValueError(f"the class explorer needs latent_dim 2, got {model.latent_dim}")
    c = model.n_classes
    if numbers is not None and len(numbers) != c:
        raise ValueError(f"need one list of numbers per class: {len(numbers)} for {c} classes")
    if not 0 <= initial < c:
        raise ValueError(f"initial must be a class in 0..{c - 1}, got {initial}")
    z = _grid_z(n, extent, model.dtype)
    images = torch.stack(
        [model.sample(torch.full((n * n,), y, dtype=torch.long), z=z) for y in range(c)]
    )
    controls = {
        "y": widgets.ToggleButtons(
            options=[(str(y), y) for y in range(c)],
            value=initial,
            description="label y",
            style={"button_width": "2.6em"},
        )
    }
    leaves = Leaves()

    def html_of(y: int) -> str:
        body = _leaf_html(images[y], y, n, extent, scale)
        return body + (numbers_html(numbers[y]) if numbers is not None else "")

    def leaf(state: dict[str, int]) -> widgets.Widget:
        return leaves.get(state["y"], lambda: html_of(state["y"]))

    header = widgets.HTML(
        "<b>Class explorer</b>: pick a label y; the grid of z stays the same, so one position "
        "in the grid is one z, drawn as each class in turn."
    )
    return make_explorer(
        controls, [Panel(["y"], leaf)], header=header, results={"images": images, "z": z}
    )
