"""The KL-gap explorer: the gap KL(q || p(z|x)), exact, in the linear-Gaussian model.

For the rotated linear-Gaussian model (:class:`~vae.linear.LinearGaussian`) log p(x), the ELBO
and the gap KL(q || p(z|x)) are exact, so every state of the explorer shows the identity
ELBO + gap = log p(x) to rounding error. Controls: latent dimension M, the choice of q, a std
scale. All numbers are in nats per image, computed in float64.

:func:`kl_gap_results` computes, :class:`GapFigures` draws one state, :func:`kl_gap_explorer`
lays the states out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.axes import Axes
from torch.distributions import Independent, Normal

from vae.data import load_digits
from vae.linear import LinearGaussian
from vae.plot import gaussian_ellipse
from vae.widgets.render import clear_data, figure_img, figure_row, fmt, numbers_html, panel
from vae.widgets.stack import Explorer, Leaves, Panel, make_explorer

Q_CHOICES = ("best diagonal q", "marginal variances", "scaled std")

GapKey = tuple[int, str, float]
"""(latent dimension M, q choice of ``Q_CHOICES``, std scale)."""


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
    pair: tuple[int, int] = (0, 0)
    """The two latent coordinates (0-based) whose posterior correlation is largest in absolute
    value (:func:`most_correlated_pair`): the pair the explorer draws. (0, 0) when M = 1."""
    rho: float = 1.0
    """The posterior correlation of ``pair`` (1.0 when M = 1)."""


def kl_gap_results(
    x_train: torch.Tensor,
    x_points: torch.Tensor,
    latent_dims: Sequence[int],
    scales: Sequence[float],
    rotation_seed: int = 0,
) -> dict[GapKey, GapResult]:
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
        cov = post.covariance_matrix[0].numpy()
        pair = most_correlated_pair(cov) if m >= 2 else (0, 0)
        qs = {
            ("best diagonal q", 1.0): best,
            ("marginal variances", 1.0): model.marginal_q(x_points),
        }
        for s in scales:
            qs[("scaled std", float(s))] = Independent(Normal(post.mean, s * best.stddev), 1)
        for (name, s), q in qs.items():
            elbo, gap = model.elbo(x_points, q), model.kl_gap(x_points, q)
            out[(m, name, s)] = GapResult(
                latent_dim=m,
                q=name,
                scale=s,
                log_px=log_px.numpy(),
                elbo=elbo.numpy(),
                gap=gap.numpy(),
                post_cov=cov,
                q_var=q.variance[0].numpy(),
                pair=pair,
                rho=_correlation(cov, pair),
            )
    return out


def most_correlated_pair(cov: np.ndarray) -> tuple[int, int]:
    """The two coordinates (0-based, i < j) whose correlation under ``cov`` [M, M] is largest
    in absolute value; (0, 1) when all are uncorrelated. Needs M >= 2."""
    sd = np.sqrt(np.diag(cov))
    corr = np.abs(cov / np.outer(sd, sd))
    np.fill_diagonal(corr, -1.0)
    i, j = np.unravel_index(int(np.argmax(corr)), corr.shape)
    return (int(min(i, j)), int(max(i, j))) if corr[i, j] > 1e-12 else (0, 1)


def _correlation(cov: np.ndarray, pair: tuple[int, int]) -> float:
    i, j = pair
    return float(cov[i, j] / np.sqrt(cov[i, i] * cov[j, j]))


class GapFigures:
    """Draws one state of the KL-gap explorer: bars of ELBO + gap = log p(x), q against the
    posterior on its most correlated pair of coordinates, and the numbers, as HTML.

    Axis ranges are fixed per M (over every q and scale), so switching q compares like with like.
    """

    def __init__(self, results: dict[GapKey, GapResult], indices: Sequence[int], dpi: int) -> None:
        self.results, self.indices = results, list(indices)
        self.ylims, self.zlims = {}, {}
        for m in sorted({k[0] for k in results}):
            rs = [r for k, r in results.items() if k[0] == m]
            lo = min(float(r.elbo.min()) for r in rs)
            hi = max(float(r.log_px.max()) for r in rs)
            self.ylims[m] = (lo - 0.12 * (hi - lo) - 1.0, hi + 0.12 * (hi - lo) + 1.0)
            pair = rs[0].pair
            variances = [np.r_[np.diag(r.post_cov)[list(pair)], r.q_var[list(pair)]] for r in rs]
            self.zlims[m] = 2.6 * float(np.sqrt(np.concatenate(variances).max()))
        self.fig_bars, self.ax_bars = panel((4.2, 3.6), dpi, (0.2, 0.97, 0.27, 0.9))
        self.fig_post, self.ax_post = panel((3.6, 3.6), dpi, (0.2, 0.96, 0.2, 0.9))

    def html(self, key: GapKey) -> str:
        """The figures (with alt text) and the numbers of the state ``key``."""
        m, name, s = key
        r = self.results[key]
        clear_data(self.ax_bars)
        clear_data(self.ax_post)
        _draw_bars(self.ax_bars, r, self.ylims[m], self.indices)
        _draw_posterior(self.ax_post, r, self.zlims[m])
        qlabel = name if name != "scaled std" else f"posterior mean, best diagonal std \u00d7 {s:g}"
        rows = [
            (
                f"digit #{i}",
                f"log p(x) = {fmt(r.log_px[j])} &nbsp; ELBO = {fmt(r.elbo[j])} &nbsp; "
                f"gap = {fmt(r.gap[j])}",
            )
            for j, i in enumerate(self.indices)
        ]
        text = numbers_html(rows, f"M = {m}, q = {html.escape(qlabel)}; all in nats, exact.")
        images = figure_row(
            figure_img(self.fig_bars, self._bars_alt(r, qlabel)),
            figure_img(self.fig_post, self._post_alt(r, qlabel)),
        )
        return images + text

    def _bars_alt(self, r: GapResult, qlabel: str) -> str:
        return (
            f"Latent dimension {r.latent_dim}, q = {qlabel}: stacked bars of the ELBO and the KL "
            f"gap reaching log p(x) for digits {', '.join(f'#{i}' for i in self.indices)}; "
            f"gaps {', '.join(fmt(g) for g in r.gap)} nats."
        )

    def _post_alt(self, r: GapResult, qlabel: str) -> str:
        m = r.latent_dim
        if m < 2:
            return f"q = {qlabel} against the posterior p(z|x), latent dimension 1: densities."
        i, j = r.pair
        rho = fmt(r.rho, 2)
        return (
            f"q = {qlabel} against the posterior p(z|x), latent dimension {m}: "
            f"2-standard-deviation ellipses of coordinates {i + 1} and {j + 1}, "
            f"the most correlated pair (posterior correlation {rho})."
        )


def _gap_controls(latent_dims: Sequence[int], scales: Sequence[float], m0: int) -> dict:
    controls = {
        "M": widgets.SelectionSlider(
            options=list(latent_dims),
            value=m0,
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
    return controls


def kl_gap_explorer(
    x_train: torch.Tensor | None = None,
    x_test: torch.Tensor | None = None,
    latent_dims: Sequence[int] = (1, 2, 4, 8, 16, 32),
    scales: Sequence[float] = (0.5, 0.71, 1.0, 1.41, 2.0),
    indices: Sequence[int] = (0, 1, 2),
    rotation_seed: int = 0,
    dpi: int = 144,
    initial_dim: int | None = None,
) -> Explorer:
    """The KL-gap explorer (exact; works in the static HTML).

    Fits :class:`~vae.linear.LinearGaussian` (float64, ``rotation_seed`` so the posterior is
    correlated) for each M in ``latent_dims`` to ``x_train`` (default: the training digits) and
    shows, for the held-out digits ``x_test[indices]``: log p(x), the ELBO and the gap
    KL(q || p(z|x)) as stacked bars (ELBO + gap = log p(x) exactly), the numbers, and q against
    the posterior on the pair of latent coordinates whose posterior correlation is largest
    (where a diagonal q falls short; :attr:`GapResult.pair`). It opens at M = ``initial_dim``
    (default: the largest M, where the gap and the tilt of the posterior are plain to see).
    Controls: M, the choice of q, the std scale of the "scaled std" q (disabled in the page
    while another q is picked). Figures are rendered at ``dpi`` and shown at half that (sharp
    on high-resolution screens); the two panels wrap one under the other on a narrow screen.
    Every number, in the figure and beside it, is rounded by one rule (three decimals).
    ``explorer.results[(M, q, scale)]`` holds the :class:`GapResult` of each state.
    """
    x_train = load_digits("train", dtype=torch.float64) if x_train is None else x_train
    x_test = load_digits("test", dtype=torch.float64) if x_test is None else x_test
    x_points = x_test[list(indices)].to(torch.float64)
    scales = [float(s) for s in scales]
    results = kl_gap_results(
        x_train.to(torch.float64), x_points, latent_dims, scales, rotation_seed
    )
    m0 = max(latent_dims) if initial_dim is None else initial_dim
    controls = _gap_controls(latent_dims, scales, m0)
    figures, leaves = GapFigures(results, indices, dpi), Leaves()

    def key(state: dict[str, int]) -> GapKey:
        m, name = latent_dims[state["M"]], Q_CHOICES[state["q"]]
        s = scales[state["scale"]] if name == "scaled std" else 1.0
        if name == "scaled std" and s == 1.0:  # the same q as the best diagonal one
            name = "best diagonal q"
        return (m, name, s)

    def leaf(state: dict[str, int]) -> widgets.Widget:  # one leaf per distinct q
        k = key(state)
        return leaves.get(k, lambda: figures.html(k))

    panel = Panel(
        ["M", "q", "scale"],
        leaf,
        skip=lambda st: ("scale",) if "q" in st and Q_CHOICES[st["q"]] != "scaled std" else (),
    )
    header = widgets.HTML(
        "<b>KL-gap explorer</b> (linear-Gaussian model, exact). Try: the largest M, then "
        "q = marginal variances, then the scaled std q at \u00d72 and \u00d70.5."
    )
    return make_explorer(controls, [panel], header=header, results=results)


def _draw_bars(ax: Axes, r: GapResult, ylim: tuple[float, float], indices: Sequence[int]) -> None:
    """Stacked bars: the ELBO from the floor of ``ylim``, the gap on top reaching log p(x)."""
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
    ax.set_title(f"M = {r.latent_dim}: ELBO + gap = log p(x)", fontsize=12)
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
    """q against the posterior, centred at the posterior mean: 2-std ellipses of the latent
    coordinates ``r.pair``, or the two densities when M = 1."""
    if r.latent_dim >= 2:
        _draw_ellipses(ax, r, lim)
    else:
        _draw_densities(ax, r, lim)
    ax.tick_params(labelsize=10)
    ax.legend(fontsize=10, loc="upper right")


def _draw_ellipses(ax: Axes, r: GapResult, lim: float) -> None:
    pair = r.pair
    idx = list(pair)
    post = torch.as_tensor(r.post_cov[np.ix_(idx, idx)])
    q = torch.diag(torch.as_tensor(r.q_var[idx]))
    gaussian_ellipse(
        ax, torch.zeros(2), post, fill=True, alpha=0.3, color="#4c72b0", label="p(z|x)"
    )
    gaussian_ellipse(ax, torch.zeros(2), q, color="#dd8452", lw=2, label="q(z)")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    a, b = ("z" + "".join(chr(0x2080 + int(d)) for d in str(n + 1)) for n in pair)
    ax.set_xlabel(f"{a} \u2212 E[{a}|x]", fontsize=11)
    ax.set_ylabel(f"{b} \u2212 E[{b}|x]", fontsize=11)
    title = f"coordinates {pair[0] + 1} and {pair[1] + 1}, \u03c1 = {fmt(r.rho, 2)}"
    ax.set_title(title, fontsize=11)


def _draw_densities(ax: Axes, r: GapResult, lim: float) -> None:
    z = np.linspace(-lim, lim, 200)
    top = 0.0
    curves: list[tuple[float, str, dict[str, Any]]] = [
        (r.post_cov[0, 0], "p(z|x)", {"color": "#4c72b0", "lw": 3}),
        (r.q_var[0], "q(z)", {"color": "#dd8452", "lw": 2, "ls": "--"}),
    ]
    for var, lab, kw in curves:
        dens = np.exp(-0.5 * z**2 / var) / np.sqrt(2 * np.pi * var)
        ax.plot(z, dens, label=lab, **kw)
        top = max(top, float(dens.max()))
    ax.set_aspect("auto")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(0, 1.1 * top)
    ax.set_xlabel("z \u2212 E[z|x]", fontsize=11)
    ax.set_ylabel("density", fontsize=11)
    ax.set_title("densities (M = 1)", fontsize=12)
