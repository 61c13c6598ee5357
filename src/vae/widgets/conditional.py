"""The class explorer of the conditional VAE: the reader picks a label, the page shows what the
decoder draws for it.

Every state is precomputed (one small PNG per class), so the explorer works in the static HTML.
It uses only :func:`vae.widgets.stack.make_explorer`, :class:`vae.widgets.stack.Panel`,
:class:`ipywidgets.ToggleButtons` and :class:`ipywidgets.HTML`, which exist in ipywidgets 7
and 8.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image
from torch import Tensor

from vae.conditional import ConditionalVAE
from vae.data import MAX_COUNT
from vae.plot import image_grid
from vae.widgets.stack import Explorer, Panel, make_explorer

__all__ = ["class_explorer", "grid_png"]


def grid_png(x: Tensor, ncol: int) -> bytes:
    """Images of counts [N, 64] tiled ``ncol`` to a row (one pixel per pixel, ink dark on
    white, gaps pale grey) as a greyscale PNG; the page enlarges it without smoothing."""
    grid = image_grid(x, ncol=ncol, pad=1)
    grey = 255 * (1 - np.clip(grid, 0, MAX_COUNT) / MAX_COUNT)
    grey = np.where(np.isnan(grid), 225, grey).round().astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(grey, mode="L").save(out, format="png", optimize=True)
    return out.getvalue()


def _table(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;font-weight:normal'>{k}</th>"
        f"<td style='text-align:right;font-variant-numeric:tabular-nums'>{v}</td></tr>"
        for k, v in rows
    )
    return f"<table class='vae-numbers'>{cells}</table>"


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

    ``numbers`` (optional) holds, per class, (label, value) rows shown under its picture;
    ``initial`` is the class shown first; ``scale`` is the screen pixels per image pixel.
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
    values = torch.linspace(-extent, extent, n, dtype=model._zero.dtype)
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")  # top row: largest z2
    z = torch.stack([z1, z2], dim=-1).reshape(n * n, 2)
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
    lo, hi = f"\u2212{extent:g}", f"{extent:g}"
    first: list[widgets.HTML] = []

    def leaf(state: dict[str, int]) -> widgets.Widget:
        y = state["y"]
        png = base64.b64encode(grid_png(images[y], ncol=n)).decode("ascii")
        width = (9 * n - 1) * scale
        alt = (
            f"a {n} by {n} grid of digits decoded with label {y}, "
            f"z from {-extent:g} to {extent:g} in both coordinates"
        )
        body = (
            f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt, quote=True)}" '
            f'width="{width}" style="image-rendering:pixelated;max-width:100%;height:auto">'
            f"<div style='font-size:90%'>E[x | z, y = {y}] on a {n} × {n} grid of z: "
            f"z<sub>1</sub> from {lo} (left) to {hi} (right), "
            f"z<sub>2</sub> from {hi} (top) to {lo} (bottom)</div>"
        )
        if numbers is not None:
            body += _table(numbers[y])
        if not first:  # every leaf shares the first one's layout (fewer models in the page)
            first.append(widgets.HTML(body))
            return first[0]
        return widgets.HTML(body, layout=first[0].layout)

    header = widgets.HTML(
        "<b>Class explorer</b>: pick a label y; the grid of z stays the same, so one position "
        "in the grid is one z, drawn as each class in turn."
    )
    return make_explorer(
        controls, [Panel(["y"], leaf)], header=header, results={"images": images, "z": z}
    )
