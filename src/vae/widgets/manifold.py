"""Chapter 7's latent-space explorers for a VAE with M = 2, and the manifold figure.

* :func:`latent_point_explorer` -- the reader picks z = (z1, z2) on a grid and sees the decoded
  digit E[x | z];
* :func:`interpolation_explorer` -- the reader picks two held-out digits and a fraction t and
  sees the digit decoded at (1 - t) mu(x_a) + t mu(x_b), between their posterior means;
* :func:`manifold_figure` -- the decoded digits over a grid of z with the held-out digits'
  posterior means on top.

Every state is precomputed (about a hundred 8x8 images, each a PNG of a few hundred bytes), so
both explorers work in the static HTML. All leaves of an explorer share one layout and one style
model, which keeps the page's embedded widget state to about one small model per image.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image
from torch import Tensor

from vae.data import MAX_COUNT
from vae.model import VAE
from vae.plot import image_grid
from vae.widgets.stack import Explorer, Panel, make_explorer


def _check_2d(model: VAE) -> None:
    if model.latent_dim != 2:
        raise ValueError(
            f"the latent-space views need a VAE with latent_dim 2, got {model.latent_dim}"
        )


def digit_png(x: Tensor, scale: int = 1) -> bytes:
    """One 8x8 image of counts [64] as a greyscale PNG of ``8 * scale`` pixels square (ink dark on
    white, 0..16 mapped to white..black). At ``scale=1`` it is about a hundred bytes; the page
    enlarges it without smoothing (CSS ``image-rendering: pixelated``)."""
    x = torch.as_tensor(x).detach().cpu().reshape(8, 8)
    grey = (255 * (1 - x.clamp(0, MAX_COUNT) / MAX_COUNT)).round().to(torch.uint8).numpy()
    img = Image.fromarray(grey, mode="L").resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    img.save(out, format="png", optimize=True)
    return out.getvalue()


@torch.no_grad()
def decode_grid(model: VAE, values: Tensor) -> Tensor:
    """Decoder means E[x | z] on the grid z = (values[j], values[i]): shape [G, G, D] for G
    values, row i (z2) first, so that row 0 is the smallest z2."""
    _check_2d(model)
    values = torch.as_tensor(values, dtype=model.dtype)
    z2, z1 = torch.meshgrid(values, values, indexing="ij")
    return model.decode(torch.stack([z1, z2], dim=-1)).mean


def manifold_figure(
    model: VAE,
    x: Tensor,
    labels: Tensor,
    extent: float = 3.0,
    n: int = 15,
    fig: Figure | None = None,
) -> Figure:
    """Left: the decoded digits E[x|z] on an ``n`` x ``n`` grid over [-extent, extent]^2;
    right: the posterior means mu(x) of the digits ``x`` [N, D], coloured by their ``labels``
    [N], over the same square (the grid's extent drawn as a frame). Draws into ``fig`` (e.g.
    ``plt.figure(figsize=(8.4, 4))``, so that a notebook shows it) or a new 8.4 x 4 in Figure."""
    _check_2d(model)
    values = torch.linspace(-extent, extent, n)
    grid = decode_grid(model, values).flip(0)  # top row = largest z2
    image = image_grid(grid.reshape(n * n, -1), ncol=n, pad=1)  # NaN gaps show as white
    with torch.no_grad():
        mu = model.encode(x).mean.cpu().numpy()
    fig = Figure(figsize=(8.4, 4.0)) if fig is None else fig
    ax_m, ax_z = fig.subplots(1, 2)
    half = extent + extent / (n - 1)  # each decoded digit centred on its grid point
    ax_m.imshow(
        image,
        cmap="Greys",
        vmin=0,
        vmax=MAX_COUNT,
        extent=(-half, half, -half, half),
        interpolation="nearest",
    )
    ax_m.set(xlabel="$z_1$", ylabel="$z_2$", title="decoded digits $E[x \\mid z]$")
    sc = ax_z.scatter(
        mu[:, 0], mu[:, 1], c=np.asarray(labels), cmap="tab10", s=8, vmin=-0.5, vmax=9.5
    )
    ax_z.add_patch(Rectangle((-half, -half), 2 * half, 2 * half, fill=False, ls=":", lw=0.8))
    ax_z.set(xlabel="$z_1$", ylabel="$z_2$", title="posterior means of held-out digits")
    ax_z.set_aspect("equal")
    fig.colorbar(sc, ax=ax_z, ticks=range(10), label="digit")
    fig.tight_layout()
    return fig


class _Leaves:
    """HTML leaves sharing the first leaf's layout and style models (fewer models in the page)."""

    def __init__(self) -> None:
        self.first: widgets.HTML | None = None

    def __call__(self, value: str) -> widgets.HTML:
        if self.first is None:
            self.first = widgets.HTML(value)
            return self.first
        return widgets.HTML(value, layout=self.first.layout, style=self.first.style)


def _digit_html(x: Tensor, caption: str, alt: str, size: int = 96) -> str:
    data = base64.b64encode(digit_png(x)).decode("ascii")
    return (
        "<figure style='display:inline-block;margin:0 0.6em;text-align:center'>"
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        f'width="{size}" height="{size}" style="image-rendering:pixelated;display:block">'
        f"<figcaption style='font-size:90%'>{caption}</figcaption></figure>"
    )


def latent_point_explorer(model: VAE, values: Sequence[float] | Tensor | None = None) -> Explorer:
    """Pick z = (z1, z2) with two sliders over ``values`` (default: -3..3 in steps of 0.75)
    and see the decoded digit E[x | z]. ``explorer.results["grid"]`` is the [G, G, D] tensor of
    :func:`decode_grid`."""
    _check_2d(model)
    values = torch.linspace(-3, 3, 9) if values is None else torch.as_tensor(values).float()
    grid = decode_grid(model, values)
    labels = [f"{v:+.2f}".replace("-", "\u2212") for v in values.tolist()]
    mid = len(labels) // 2
    new_leaf = _Leaves()
    controls = {
        name: widgets.SelectionSlider(
            options=[(s, i) for i, s in enumerate(labels)], value=mid, description=name
        )
        for name in ("z1", "z2")
    }

    def leaf(state: dict[str, int]) -> widgets.Widget:
        z1, z2 = labels[state["z1"]], labels[state["z2"]]
        x = grid[state["z2"], state["z1"]]
        return new_leaf(
            _digit_html(x, f"E[x | z = ({z1}, {z2})]", f"digit decoded at z = ({z1}, {z2})")
        )

    header = widgets.HTML(
        "<b>Latent-space explorer</b> (M = 2): pick z<sub>1</sub> and z<sub>2</sub>; the digit "
        "is the decoder's mean at that point."
    )
    return make_explorer(
        controls, [Panel(["z2", "z1"], leaf)], header=header, results={"grid": grid}
    )


def interpolation_explorer(
    model: VAE, x: Tensor, pairs: Sequence[tuple[int, int]], names: Sequence[str], steps: int = 9
) -> Explorer:
    """Interpolate in z between two digits: for each pair (a, b) of row indices into ``x`` (named
    ``names[a]``, ``names[b]``), the decoded digits at (1 - t) mu(x_a) + t mu(x_b) for ``steps``
    values of t in [0, 1]. ``explorer.results["path"]`` maps each pair to its [steps, D] digits."""
    _check_2d(model)
    if len(names) != len(x):
        raise ValueError(f"need one name per digit: {len(names)} names for {len(x)} digits")
    ts = torch.linspace(0, 1, steps)
    with torch.no_grad():
        mu = model.encode(x).mean
        path = {
            (a, b): model.decode((1 - ts[:, None]) * mu[a] + ts[:, None] * mu[b]).mean
            for a, b in pairs
        }
    controls = {
        "pair": widgets.Dropdown(
            options=[(f"{names[a]} \u2192 {names[b]}", i) for i, (a, b) in enumerate(pairs)],
            value=0,
            description="digits",
        ),
        "t": widgets.SelectionSlider(
            options=[(f"{t:.2f}", i) for i, t in enumerate(ts.tolist())], value=0, description="t"
        ),
    }

    new_leaf = _Leaves()

    def ends_leaf(state: dict[str, int]) -> widgets.Widget:
        a, b = pairs[state["pair"]]
        return new_leaf(
            "<div>"
            + _digit_html(x[a], f"x<sub>a</sub> ({names[a]})", f"held-out digit {names[a]}")
            + _digit_html(x[b], f"x<sub>b</sub> ({names[b]})", f"held-out digit {names[b]}")
            + "</div>"
        )

    def path_leaf(state: dict[str, int]) -> widgets.Widget:
        a, b = pairs[state["pair"]]
        t = ts[state["t"]].item()
        return new_leaf(
            _digit_html(
                path[a, b][state["t"]],
                f"decoded at (1 − t) μ(x<sub>a</sub>) + t μ(x<sub>b</sub>), t = {t:.2f}",
                f"digit decoded a fraction {t:.2f} of the way from {names[a]} to {names[b]}",
            )
        )

    header = widgets.HTML(
        "<b>Interpolation</b>: pick two held-out digits and slide t from one posterior mean "
        "to the other."
    )
    return make_explorer(
        controls,
        [Panel(["pair"], ends_leaf), Panel(["pair", "t"], path_leaf)],
        header=header,
        results={"path": path},
    )
