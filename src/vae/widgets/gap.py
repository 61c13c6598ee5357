"""Chapter 3's explorer: the KL gap, exact, in the linear-Gaussian model.

For the rotated linear-Gaussian model (:class:`~vae.linear.LinearGaussian`) log p(x), the ELBO
and the gap KL(q || p(z|x)) are exact, so every state of the explorer shows the identity
ELBO + gap = log p(x) to rounding error. Controls: latent dimension M, the choice of q, a std
scale. All numbers are in nats per image, computed in float64.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch.distributions import Independent, Normal

from vae.data import load_digits
from vae.linear import LinearGaussian
from vae.plot import gaussian_ellipse
from vae.widgets.stack import (
    Explorer,
    Panel,
    clear_data,
    figure_row,
    fmt,
    img_tag,
    make_explorer,
    numbers_html,
    png_bytes,
)

Q_CHOICES = ("best diagonal q", "marginal variances", "scaled std")


@dataclass
class GapResult:
    """Exact numbers for one state of the KL-gap explorer (each array has one entry per point)."""

    latent_dim: int
    q: str
    scale: float
    log_px: np.ndarray
    elbo: np.ndarray
    gap: np.ndarray
    post_cov: np.ndarray
    """Posterior covariance [M, M] (the same for every x in this model)."""
    q_var: np.ndarray
    """Variances [M] of the diagonal q."""


def kl_gap_results(
    x_train: torch.Tensor,
    x_points: torch.Tensor,
    latent_dims: Sequence[int],
    scales: Sequence[float],
    rotation_seed: int = 0,
) -> dict[tuple[int, str, float], GapResult]:
    """Exact log p(x), ELBO and KL(q || p(z|x)) for every (M, q choice, scale), in float64.

    ``q`` is one of ``Q_CHOICES``: :meth:`~vae.linear.LinearGaussian.best_diagonal_q`,
    :meth:`~vae.linear.LinearGaussian.marginal_q`, or the posterior mean with the best diagonal
    std times ``scale`` (scale 1 is the best diagonal q). For the first two, ``scale`` is 1.
    """
    out = {}
    for m in latent_dims:
        model = LinearGaussian.max_likelihood(x_train, m, rotation_seed=rotation_seed)
        post = model.posterior(x_points)
        log_px = model.log_marginal(x_points)
        best = model.best_diagonal_q(x_points)
        qs = {
            ("best diagonal q", 1.0): best,
            ("marginal variances", 1.0): model.marginal_q(x_points),
        }
        for s in scales:
            qs[("scaled std", float(s))] = Independent(Normal(post.mean, s * best.stddev), 1)
        for (name, s), q in qs.items():
            elbo, gap = model.elbo(x_points, q), model.kl_gap(x_points, q)
            out[(m, name, s)] = GapResult(
                m,
                name,
                s,
                log_px.numpy(),
                elbo.numpy(),
                gap.numpy(),
                post.covariance_matrix[0].numpy(),
                q.variance[0].numpy(),
            )
    return out


def kl_gap_explorer(
    x_train: torch.Tensor | None = None,
    x_test: torch.Tensor | None = None,
    latent_dims: Sequence[int] = (1, 2, 4, 8, 16, 32),
    scales: Sequence[float] = (0.5, 0.71, 1.0, 1.41, 2.0),
    indices: Sequence[int] = (0, 1, 2),
    rotation_seed: int = 0,
    dpi: int = 144,
) -> Explorer:
    """The KL-gap explorer of chapter 3 (exact; works in the static HTML).

    Fits :class:`~vae.linear.LinearGaussian` (float64, ``rotation_seed`` so the posterior is
    correlated) for each M in ``latent_dims`` to ``x_train`` (default: the training digits) and
    shows, for the held-out digits ``x_test[indices]``: log p(x), the ELBO and the gap
    KL(q || p(z|x)) as stacked bars (ELBO + gap = log p(x) exactly), the numbers, and q against
    the posterior for latent coordinates 1 and 2.
    Controls: M, the choice of q, the std scale of the "scaled std" q (disabled in the page
    while another q is picked). Figures are rendered at ``dpi`` and shown at half that (sharp
    on high-resolution screens); the two panels wrap one under the other on a narrow screen.
    Every number, in the figure and beside it, is rounded by one rule (three decimals).
    ``explorer.results[(M, q, scale)]`` holds the :class:`GapResult` of each state.
    """
    if x_train is None:
        x_train = load_digits("train", dtype=torch.float64)
    if x_test is None:
        x_test = load_digits("test", dtype=torch.float64)
    x_points = x_test[list(indices)].to(torch.float64)
    scales = [float(s) for s in scales]
    results = kl_gap_results(
        x_train.to(torch.float64), x_points, latent_dims, scales, rotation_seed
    )

    controls = {
        "M": widgets.SelectionSlider(
            options=list(latent_dims),
            value=latent_dims[min(1, len(latent_dims) - 1)],
            description="latent dim M",
            continuous_update=True,
            style={"description_width": "initial"},
        ),
        "q": widgets.ToggleButtons(
            options=list(Q_CHOICES),
            value=Q_CHOICES[0],
            description="q:",
            style={"button_width": "auto", "description_width": "initial"},
        ),
        "scale": widgets.SelectionSlider(
            options=[(f"{s:g}", s) for s in scales],
            value=1.0 if 1.0 in scales else scales[0],
            description="std \u00d7 (scaled q)",
            style={"description_width": "initial"},
        ),
    }
    # The std slider matters only for the "scaled std" q: the page's script (vae-widgets.js)
    # disables it while another q is picked (a view-side state, so it works without a kernel).
    controls["scale"].add_class(f"vae-enabled-by-q-{Q_CHOICES.index('scaled std')}")
    controls["q"].add_class("vae-control-q")

    def key(state):
        m = latent_dims[state["M"]]
        name = Q_CHOICES[state["q"]]
        s = scales[state["scale"]] if name == "scaled std" else 1.0
        if name == "scaled std" and s == 1.0:  # the same q as the best diagonal one
            name = "best diagonal q"
        return (m, name, s)

    # fixed axis ranges per M, so switching q or the scale compares like with like
    ylims, zlims = {}, {}
    for m in latent_dims:
        rs = [r for k, r in results.items() if k[0] == m]
        lo = min(float(r.elbo.min()) for r in rs)
        hi = max(float(r.log_px.max()) for r in rs)
        pad = 0.12 * (hi - lo) + 1.0
        ylims[m] = (lo - pad, hi + pad)
        zlims[m] = 2.6 * max(
            float(np.sqrt(np.concatenate([np.diag(r.post_cov)[:2], r.q_var[:2]]).max())) for r in rs
        )

    fig_bars = Figure(figsize=(4.2, 3.6), dpi=dpi)
    ax_bars = fig_bars.subplots()
    fig_bars.subplots_adjust(left=0.2, right=0.97, bottom=0.27, top=0.9)
    fig_post = Figure(figsize=(3.6, 3.6), dpi=dpi)
    ax_post = fig_post.subplots()
    fig_post.subplots_adjust(left=0.2, right=0.96, bottom=0.2, top=0.9)
    leaves: dict[tuple[int, str, float], widgets.HTML] = {}

    def leaf(state):
        # One widget per distinct q: states showing the same q share it, so its images are
        # embedded in the page once.
        m, name, s = key(state)
        if (m, name, s) in leaves:
            return leaves[(m, name, s)]
        r = results[(m, name, s)]
        clear_data(ax_bars)
        clear_data(ax_post)
        _draw_bars(ax_bars, r, ylims[m], indices)
        _draw_posterior(ax_post, r, zlims[m])
        qlabel = name if name != "scaled std" else f"posterior mean, best diagonal std \u00d7 {s:g}"
        rows = [
            (
                f"digit #{i}",
                f"log p(x) = {fmt(r.log_px[j])} &nbsp; ELBO = {fmt(r.elbo[j])} &nbsp; "
                f"gap = {fmt(r.gap[j])}",
            )
            for j, i in enumerate(indices)
        ]
        gaps = ", ".join(fmt(g) for g in r.gap)
        bars_alt = (
            f"Latent dimension {m}, q = {qlabel}: stacked bars of the ELBO and the KL gap "
            f"reaching log p(x) for digits {', '.join(f'#{i}' for i in indices)}; "
            f"gaps {gaps} nats."
        )
        post_alt = f"q = {qlabel} against the posterior p(z|x), latent dimension {m}: " + (
            "2-standard-deviation ellipses of coordinates 1 and 2." if m >= 2 else "densities."
        )
        text = numbers_html(rows, f"M = {m}, q = {html.escape(qlabel)}; all in nats, exact.")
        images = figure_row(
            img_tag(png_bytes(fig_bars), bars_alt, density=2),
            img_tag(png_bytes(fig_post), post_alt, density=2),
        )
        leaves[(m, name, s)] = widgets.HTML(images + text)
        return leaves[(m, name, s)]

    panel = Panel(
        ["M", "q", "scale"],
        leaf,
        skip=lambda st: ("scale",) if "q" in st and Q_CHOICES[st["q"]] != "scaled std" else (),
    )
    header = widgets.HTML(
        "<b>KL-gap explorer</b> (linear-Gaussian model, exact): move the slider or pick a q; "
        "the std scale applies to the \u201cscaled std\u201d q."
    )
    return make_explorer(controls, [panel], header=header, results=results)


def _draw_bars(ax: Axes, r: GapResult, ylim: tuple[float, float], indices: Sequence[int]) -> None:
    """Stacked bars: the ELBO from the floor of ``ylim``, the gap on top reaching log p(x)."""
    m = r.latent_dim
    floor = ylim[0]
    xs = np.arange(len(r.elbo))
    ax.bar(xs, r.elbo - floor, bottom=floor, width=0.6, color="#4c72b0", label="ELBO")
    ax.bar(xs, r.gap, bottom=r.elbo, width=0.6, color="#dd8452", label="gap = KL(q\u2016p(z|x))")
    for i in xs:
        ax.hlines(r.log_px[i], i - 0.4, i + 0.4, colors="k", linestyles="--", lw=1)
        ax.annotate(
            f"gap {fmt(r.gap[i])}",
            (i, r.log_px[i]),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=10,
        )
    ax.plot([], [], "k--", lw=1, label="log p(x)")
    ax.set_ylim(*ylim)
    ax.set_xticks(xs, [f"digit #{i}" for i in indices], fontsize=10)
    ax.tick_params(labelsize=10)
    ax.set_ylabel("nats (higher is better)", fontsize=11)
    ax.set_title(f"M = {m}: ELBO + gap = log p(x)", fontsize=12)
    ax.legend(
        fontsize=10,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=2,
        frameon=False,
        handlelength=1.2,
        columnspacing=0.8,
    )


def _draw_posterior(ax: Axes, r: GapResult, lim: float) -> None:
    """q against the posterior, centred at the posterior mean: 2-std ellipses of coordinates
    1 and 2, or the two densities when M = 1."""
    m = r.latent_dim
    if m >= 2:
        gaussian_ellipse(
            ax,
            torch.zeros(2),
            torch.as_tensor(r.post_cov[:2, :2]),
            fill=True,
            alpha=0.3,
            color="#4c72b0",
            label="p(z|x)",
        )
        gaussian_ellipse(
            ax,
            torch.zeros(2),
            torch.diag(torch.as_tensor(r.q_var[:2])),
            color="#dd8452",
            lw=2,
            label="q(z)",
        )
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("z\u2081 \u2212 E[z\u2081|x]", fontsize=11)
        ax.set_ylabel("z\u2082 \u2212 E[z\u2082|x]", fontsize=11)
        ax.set_title("2-std ellipses, coordinates 1, 2", fontsize=12)
    else:
        z = np.linspace(-lim, lim, 200)
        top = 0.0
        for var, lab, kw in [
            (r.post_cov[0, 0], "p(z|x)", {"color": "#4c72b0", "lw": 3}),
            (r.q_var[0], "q(z)", {"color": "#dd8452", "lw": 2, "ls": "--"}),
        ]:
            dens = np.exp(-0.5 * z**2 / var) / np.sqrt(2 * np.pi * var)
            ax.plot(z, dens, label=lab, **kw)
            top = max(top, float(dens.max()))
        ax.set_aspect("auto")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(0, 1.1 * top)
        ax.set_xlabel("z \u2212 E[z|x]", fontsize=11)
        ax.set_ylabel("density", fontsize=11)
        ax.set_title("densities (M = 1)", fontsize=12)
    ax.tick_params(labelsize=10)
    ax.legend(fontsize=10, loc="upper right")
