"""The latent space of a VAE with M = 2: two explorers and the manifold figure.

* :func:`latent_point_explorer` -- the reader picks z = (z1, z2) on a grid and sees the decoded
  digit E[x | z];
* :func:`interpolation_explorer` -- the reader picks two held-out digits and a fraction t and
  sees the digit decoded at (1 - t) mu(x_a) + t mu(x_b), between their posterior means;
* :func:`manifold_figure` -- the decoded digits over a grid of z with the held-out digits'
  posterior means on top.

Every state is precomputed (about a hundred 8x8 images, each a PNG of a few hundred bytes), so
both explorers work in the static HTML. All leaves of an explorer share one layout and one style
model (:class:`~vae.widgets.stack.Leaves`), which keeps the page's embedded widget state to about
one small model per image.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image
from torch import Tensor

from vae.data import MAX_COUNT
from vae.model import VAE
from vae.plot import image_grid
from vae.widgets.render import captioned, figure_row, img_tag, panel, png_bytes, smallest_text_px
from vae.widgets.stack import Explorer, Leaves, Panel, make_explorer


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


def _digit_html(x: Tensor, caption: str, alt: str, size: int = 96) -> str:
    return captioned(img_tag(digit_png(x), alt, size=size), caption)


def _scatter_axes(
    ax: Axes, mu: np.ndarray, labels: Tensor, half: float, lim: float, fontsize: int = 10
) -> None:
    """Posterior means coloured by class (the palette of :func:`manifold_figure`), the square
    of half-width ``half`` dotted, on [-lim, lim]^2."""
    ax.scatter(mu[:, 0], mu[:, 1], c=np.asarray(labels), cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    ax.add_patch(Rectangle((-half, -half), 2 * half, 2 * half, fill=False, ls=":", lw=0.8))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$z_1$", fontsize=fontsize)
    ax.set_ylabel("$z_2$", fontsize=fontsize, labelpad=0)
    ax.tick_params(labelsize=fontsize)
    ax.set_title("posterior means", fontsize=fontsize)


class LatentScatter:
    """The held-out digits' posterior means as one picture, and marks on it per state.

    The picture is drawn once and carried by the explorer's ``<style>`` (``style``, a CSS
    background); each state adds only a small SVG overlay (a cross at z, a line between two
    points), so dozens of states cost a few hundred bytes each in the page.
    """

    def __init__(self, model: VAE, x: Tensor, labels: Tensor, half: float, dpi: int = 144) -> None:
        with torch.no_grad():
            mu = model.encode(x).mean.cpu().numpy()
        fig, self.ax = panel((2.4, 2.4), dpi, (0.2, 0.97, 0.18, 0.9))
        _scatter_axes(self.ax, mu, labels, half, lim=1.25 * half)
        png = png_bytes(fig)  # draws, which fixes the axes' transform
        self.width, self.height = (int(v) for v in fig.canvas.get_width_height())
        self.min_text_px = smallest_text_px(fig)
        self.css_class = "vae-scatter-" + hashlib.sha1(png).hexdigest()[:12]
        data = base64.b64encode(png).decode("ascii")
        self.style = (
            f".{self.css_class} {{background: url(data:image/png;base64,{data}) 0 0 / 100% 100% "
            "no-repeat;}"
        )

    def _pixel(self, z: Tensor | Sequence[float]) -> tuple[float, float]:
        px, py = self.ax.transData.transform((float(z[0]), float(z[1])))
        return round(float(px), 1), round(float(self.height - py), 1)

    def html(self, alt: str, mark: Tensor | Sequence[float], line: tuple | None = None) -> str:
        """The scatter with a cross at ``mark`` (z) and, if given, the segment ``line`` = (z_a,
        z_b); shown at half its pixel size, shrinking with the column."""
        x, y = self._pixel(mark)
        r = 9
        svg = [
            f"<path d='M{x - r} {y - r}L{x + r} {y + r}M{x - r} {y + r}L{x + r} {y - r}' "
            "stroke='black' stroke-width='4'/>"
        ]
        if line is not None:
            (x0, y0), (x1, y1) = self._pixel(line[0]), self._pixel(line[1])
            svg.insert(
                0,
                f"<line x1='{x0}' y1='{y0}' x2='{x1}' y2='{y1}' stroke='black' "
                "stroke-width='2.5' stroke-dasharray='8 5'/>",
            )
        w, h = self.width, self.height
        return (
            f"<div class='{self.css_class}' role='img' aria-label='{html.escape(alt, quote=True)}' "
            f"data-min-text-px='{self.min_text_px:.1f}' data-natural-width='{w}' "
            f"style='position:relative;width:{w / 2:g}px;max-width:100%;aspect-ratio:{w}/{h}'>"
            f"<svg viewBox='0 0 {w} {h}' style='position:absolute;left:0;top:0;width:100%;"
            f"height:100%' aria-hidden='true'>{''.join(svg)}</svg></div>"
        )


def _header(text: str, scatter: LatentScatter | None) -> widgets.HTML:
    style = f"<style>{scatter.style}</style>" if scatter is not None else ""
    return widgets.HTML(style + text)


def _z_labels(values: Tensor) -> list[str]:
    return [f"{v:+.2f}".replace("-", "\u2212") for v in values.tolist()]


def latent_point_explorer(
    model: VAE,
    values: Sequence[float] | Tensor | None = None,
    x: Tensor | None = None,
    labels: Tensor | None = None,
) -> Explorer:
    """Pick z = (z1, z2) with two sliders over ``values`` (default: -3..3 in steps of 0.75)
    and see the decoded digit E[x | z]; given digits ``x`` [N, D] and their ``labels`` [N],
    also where z lies among their posterior means (a cross on the scatter of
    :func:`manifold_figure`'s right panel). ``explorer.results["grid"]`` is the [G, G, D]
    tensor of :func:`decode_grid`."""
    _check_2d(model)
    _check_scatter(x, labels)
    values = torch.linspace(-3, 3, 9) if values is None else torch.as_tensor(values).float()
    grid = decode_grid(model, values)
    names = _z_labels(values)
    step = float(values[1] - values[0]) if len(values) > 1 else 1.0
    half = float(values.abs().max()) + step / 2
    scatter = None if x is None or labels is None else LatentScatter(model, x, labels, half)
    leaves = Leaves()
    controls = {
        name: widgets.SelectionSlider(
            options=[(s, i) for i, s in enumerate(names)], value=len(names) // 2, description=name
        )
        for name in ("z1", "z2")
    }

    def html_of(i1: int, i2: int) -> str:
        z1, z2 = names[i1], names[i2]
        caption, alt = f"E[x | z = ({z1}, {z2})]", f"digit decoded at z = ({z1}, {z2})"
        digit = _digit_html(grid[i2, i1], caption, alt)
        if scatter is None:
            return digit
        where = scatter.html(f"z = ({z1}, {z2}) among the posterior means", values[[i1, i2]])
        return figure_row(digit, where)

    def leaf(state: dict[str, int]) -> widgets.Widget:
        i1, i2 = state["z1"], state["z2"]
        return leaves.get((i1, i2), lambda: html_of(i1, i2))

    header = _header(
        "<b>Latent-space explorer</b> (M = 2): pick z<sub>1</sub> and z<sub>2</sub>; the digit "
        "is the decoder's mean at that point"
        + ("; the cross shows where z lies among the held-out digits." if scatter else ".")
        + " Try: cross from one cluster into the next, and go far out where no digit lies.",
        scatter,
    )
    return make_explorer(
        controls, [Panel(["z2", "z1"], leaf)], header=header, results={"grid": grid}
    )


def _strip_html(frames: Tensor, current: int, size: int = 48) -> str:
    """Decoded digits in one row, the ``current`` one framed: each ``size`` CSS pixels wide
    where the column has room, all shrinking together where it has not (a phone)."""
    cells = []
    for j, frame in enumerate(frames):
        border = "3px solid #d62728" if j == current else "3px solid transparent"
        img = img_tag(digit_png(frame), f"frame {j + 1} of {len(frames)}", size=size)
        style = f"flex:0 1 {size}px;min-width:0;border:{border};line-height:0"
        cells.append(f"<div style='{style}'>{img}</div>")
    return f"<div class='vae-strip' style='display:flex;gap:2px'>{''.join(cells)}</div>"


def _check_scatter(x: Tensor | None, labels: Tensor | None) -> None:
    """Digits for the scatter come with their labels, one per digit."""
    if (x is None) != (labels is None):
        raise ValueError("the scatter needs both the digits and their labels, or neither")
    if x is not None and labels is not None and len(labels) != len(x):
        raise ValueError(f"need one label per digit: {len(labels)} labels for {len(x)} digits")


class _Interpolation:
    """The straight lines in z between pairs of digits, decoded, and their HTML."""

    def __init__(
        self, model: VAE, x: Tensor, pairs: Sequence[tuple[int, int]], names: Sequence[str],
        steps: int, scatter_of: tuple[Tensor, Tensor] | None,
    ) -> None:  # fmt: skip
        self.x, self.names = x, names
        self.ts = torch.linspace(0, 1, steps)
        with torch.no_grad():
            self.mu = model.encode(x).mean
            t = self.ts[:, None]
            self.zs = {(a, b): (1 - t) * self.mu[a] + t * self.mu[b] for a, b in pairs}
            self.path = {pair: model.decode(z).mean for pair, z in self.zs.items()}
        self.scatter = None
        if scatter_of is not None:
            half = max(3.0, 1.05 * float(torch.cat(list(self.zs.values())).abs().max()))
            self.scatter = LatentScatter(model, *scatter_of, half)

    def ends_html(self, a: int, b: int) -> str:
        x, names = self.x, self.names
        return (
            "<div>"
            + _digit_html(x[a], f"x<sub>a</sub> ({names[a]})", f"held-out digit {names[a]}")
            + _digit_html(x[b], f"x<sub>b</sub> ({names[b]})", f"held-out digit {names[b]}")
            + "</div>"
        )

    def path_html(self, a: int, b: int, j: int) -> str:
        t, names = self.ts[j].item(), self.names
        digit = _digit_html(
            self.path[a, b][j],
            f"decoded at (1 − t) μ(x<sub>a</sub>) + t μ(x<sub>b</sub>), t = {t:.2f}",
            f"digit decoded a fraction {t:.2f} of the way from {names[a]} to {names[b]}",
        )
        parts = [digit, _strip_html(self.path[a, b], j)]
        if self.scatter is not None:
            alt = f"the straight line from {names[a]} to {names[b]} in z, at t = {t:.2f}"
            line = (self.mu[a], self.mu[b])
            parts.append(self.scatter.html(alt, self.zs[a, b][j], line=line))
        return figure_row(*parts)


def interpolation_explorer(
    model: VAE,
    x: Tensor,
    pairs: Sequence[tuple[int, int]],
    names: Sequence[str],
    steps: int = 9,
    x_scatter: Tensor | None = None,
    labels: Tensor | None = None,
) -> Explorer:
    """Interpolate in z between two digits: for each pair (a, b) of row indices into ``x`` (named
    ``names[a]``, ``names[b]``), the decoded digits at (1 - t) mu(x_a) + t mu(x_b) for ``steps``
    values of t in [0, 1]: the whole path as a strip with the current t framed, the digit at t,
    and, given digits ``x_scatter`` [N, D] with ``labels`` [N], the straight line and the current
    point on the scatter of their posterior means. ``explorer.results["path"]`` maps each pair to
    its [steps, D] digits, ``explorer.results["z"]`` to its [steps, 2] points in z."""
    _check_2d(model)
    if len(names) != len(x):
        raise ValueError(f"need one name per digit: {len(names)} names for {len(x)} digits")
    _check_scatter(x_scatter, labels)
    scatter_of = None if x_scatter is None or labels is None else (x_scatter, labels)
    lines = _Interpolation(model, x, pairs, names, steps, scatter_of)
    controls = {
        "pair": widgets.Dropdown(
            options=[(f"{names[a]} \u2192 {names[b]}", i) for i, (a, b) in enumerate(pairs)],
            value=0,
            description="digits",
        ),
        "t": widgets.SelectionSlider(
            options=[(f"{t:.2f}", i) for i, t in enumerate(lines.ts.tolist())],
            value=0,
            description="t",
        ),
    }
    leaves = Leaves()

    def ends_leaf(state: dict[str, int]) -> widgets.Widget:
        a, b = pairs[state["pair"]]
        return leaves.get((a, b), lambda: lines.ends_html(a, b))

    def path_leaf(state: dict[str, int]) -> widgets.Widget:
        (a, b), j = pairs[state["pair"]], state["t"]
        return leaves.get((a, b, j), lambda: lines.path_html(a, b, j))

    header = _header(
        "<b>Interpolation</b>: pick two held-out digits and slide t from one posterior mean "
        "to the other; the strip shows the whole path, the current t framed. Look for: where "
        "along the line the digit changes class, and whether it passes through a third one.",
        lines.scatter,
    )
    return make_explorer(
        controls,
        [Panel(["pair"], ends_leaf), Panel(["pair", "t"], path_leaf)],
        header=header,
        results={"path": lines.path, "z": lines.zs},
    )
