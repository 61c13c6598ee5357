"""The beta explorer: rate, distortion and what the KL weight beta does.

For each trained VAE (one per beta, passed in: nothing is trained here), on held-out digits:
the rate R = E_x KL(q(z|x) || p(z)) and the distortion D = -E_x E_q[log p(x|z)], whose sum is
the negative ELBO; the importance-sampled bound on log p(x); the active units; reconstructions
and samples. Nats per image.

:func:`beta_results` computes, :class:`BetaFigure` draws one beta, :func:`beta_explorer` lays
the states out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from torch import Tensor

from vae.data import load_digits
from vae.estimators import kl_per_dimension, log_marginal_is
from vae.model import VAE
from vae.widgets.latent import ACTIVE_MIN_KL, active_coordinates, digits_html
from vae.widgets.render import clear_data, figure_img, figure_row, fmt, numbers_html, panel
from vae.widgets.stack import Explorer, Panel, make_explorer


@dataclass
class BetaResult:
    """Held-out numbers of the VAE trained with KL weight ``beta`` (nats per image)."""

    beta: float
    rate: float
    """R = mean KL(q(z|x) || p(z))."""
    distortion: float
    """D = mean of -E_q[log p(x|z)]."""
    log_px: float
    """Mean importance-sampled bound log p_K(x)."""
    active: int
    """How many latent units are active, that is, have a mean KL to the prior of at least
    :data:`~vae.estimators.ACTIVE_MIN_KL` nats over all of ``x_test``."""
    latent_dim: int
    recon: Tensor
    """Reconstructions of the first held-out digits, [n_show, D]."""
    samples: Tensor
    """Decoder means at z ~ p(z), [n_show, D]."""

    @property
    def elbo(self) -> float:
        """The ELBO, -(D + R)."""
        return -(self.distortion + self.rate)


def beta_results(
    models: Mapping[float, VAE],
    x_test: Tensor | None = None,
    k: int = 100,
    n_eval: int = 100,
    n_show: int = 8,
    seed: int = 0,
) -> dict[float, BetaResult]:
    """Evaluate trained VAEs, one per KL weight: ``models`` maps beta to its VAE.

    On the first ``n_eval`` digits of ``x_test`` (default: the held-out digits): rate and
    distortion (10 samples of z per digit), the bound log p_K(x) with ``k`` importance samples;
    active units on all of ``x_test``. Deterministic (seeded without touching the global random
    state); ordered by beta.
    """
    x_test = load_digits("test") if x_test is None else x_test
    x_eval = x_test[:n_eval]
    out = {}
    for beta in sorted(models):
        model = models[beta].eval()
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            terms = model.elbo_terms(x_eval, n_samples=10)
            log_px = log_marginal_is(model, x_eval, k).mean().item()
            samples = model.sample(n_show)
        out[beta] = BetaResult(
            beta=float(beta),
            rate=terms.kl.mean().item(),
            distortion=-terms.log_likelihood.mean().item(),
            log_px=log_px,
            active=int(active_coordinates(kl_per_dimension(model, x_test)).sum()),
            latent_dim=model.latent_dim,
            recon=model.reconstruct(x_test[:n_show]),
            samples=samples,
        )
    return out


class BetaFigure:
    """Draws one beta: the rate-distortion plane with lines of equal ELBO and that beta marked
    and the held-out bounds against beta (two figures rendered at ``dpi`` and shown at half
    that, each narrow enough to keep its text legible on a phone: they wrap one under the
    other), and under them reconstructions and samples (pixel-exact digits)."""

    def __init__(self, results: Mapping[float, BetaResult], x_show: Tensor, dpi: int) -> None:
        self.results, self.x_show = results, x_show
        self.betas = list(results)
        self.rates = np.array([results[b].rate for b in self.betas])
        self.dists = np.array([results[b].distortion for b in self.betas])
        self.fig_rd, self.ax_rd = panel((3.4, 3.2), dpi, (0.24, 0.96, 0.16, 0.88))
        self.fig_b, self.ax_b = panel((3.4, 3.2), dpi, (0.24, 0.96, 0.16, 0.88))

    def html(self, beta: float) -> str:
        """The figures and digits of ``beta`` as images with their alt text."""
        r = self.results[beta]
        for ax in (self.ax_rd, self.ax_b):
            clear_data(ax)
        self._draw_plane(r)
        self._draw_bounds(r)
        plane_alt = (
            f"beta = {r.beta:g} on the rate-distortion plane: rate {r.rate:.1f} nats, "
            f"distortion {r.distortion:.1f} nats; grey lines of equal ELBO."
        )
        bounds_alt = (
            f"Held-out ELBO and log p_K(x) against beta, beta = {r.beta:g} marked; "
            f"{r.active} of {r.latent_dim} latent units active."
        )
        titles = ("digits / reconstructions", "samples (decoder means)")
        return figure_row(
            figure_img(self.fig_rd, plane_alt), figure_img(self.fig_b, bounds_alt)
        ) + digits_html(self.x_show, r.recon, r.samples, titles)

    def _draw_plane(self, r: BetaResult) -> None:
        ax, rates, dists = self.ax_rd, self.rates, self.dists
        span = np.array([0, dists.max() + rates.max()])
        for total in np.unique(np.round(rates + dists, -1)):  # lines R + D = const
            ax.plot(span, total - span, color="#dddddd", lw=0.8, zorder=0)
        ax.plot(dists, rates, "o-", color="#4c72b0", ms=4)
        ax.plot([r.distortion], [r.rate], "o", color="#c44e52", ms=9)
        ax.set_xlim(0.95 * dists.min(), 1.02 * dists.max())
        ax.set_ylim(-0.05 * rates.max() - 0.1, 1.1 * rates.max() + 0.1)
        ax.tick_params(labelsize=10)
        ax.set_xlabel("distortion D (nats)", fontsize=11)
        ax.set_ylabel("rate R (nats)", fontsize=11)
        ax.set_title("grey: equal ELBO = \u2212(D + R)", fontsize=11)

    def _draw_bounds(self, r: BetaResult) -> None:
        ax, betas = self.ax_b, self.betas
        log_px = [self.results[b].log_px for b in betas]
        ax.plot(betas, log_px, "o-", color="#c44e52", label="log p\u0302_K")
        ax.plot(betas, [self.results[b].elbo for b in betas], "s--", color="#4c72b0", label="ELBO")
        ax.axvline(r.beta, color="k", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.tick_params(labelsize=10)
        ax.set_xlabel("\u03b2", fontsize=11)
        ax.set_ylabel("held-out nats per image", fontsize=11)
        ax.set_title(f"\u03b2 = {r.beta:g}: {r.active} of {r.latent_dim} active", fontsize=11)
        ax.legend(fontsize=10, loc="lower left")


def beta_numbers_html(r: BetaResult, n_eval: int) -> str:
    """The table of one beta: rate, distortion, ELBO, log p_K(x), active units."""
    rows = [
        ("rate R = KL(q \u2016 p(z))", fmt(r.rate)),
        ("distortion D = \u2212E<sub>q</sub> log p(x|z)", fmt(r.distortion)),
        ("ELBO = \u2212(D + R)", fmt(r.elbo)),
        ("log p\u0302<sub>K</sub>(x)", fmt(r.log_px)),
        (f"active units (KL \u2265 {ACTIVE_MIN_KL} nats)", f"{r.active} / {r.latent_dim}"),
    ]
    note = f"\u03b2 = {r.beta:g}: nats per image, mean over {n_eval} held-out digits."
    return numbers_html(rows, note)


def beta_explorer(
    models: Mapping[float, VAE] | None = None,
    x_test: Tensor | None = None,
    k: int = 100,
    n_eval: int = 100,
    seed: int = 0,
    dpi: int = 144,
    results: Mapping[float, BetaResult] | None = None,
) -> Explorer:
    """The beta explorer (works in the static HTML).

    Evaluates the VAEs ``models`` (beta -> VAE, trained with ``vae.fit(..., beta=beta)``) with
    :func:`beta_results`, or shows ``results`` computed before: the rate-distortion plane with
    lines of equal ELBO, the held-out bounds against beta, reconstructions and samples, and the
    numbers. It opens at the beta nearest 1. ``explorer.results`` maps beta to its
    :class:`BetaResult`.
    """
    x_test = load_digits("test") if x_test is None else x_test
    if results is None:
        if models is None:
            raise ValueError("beta_explorer needs trained models (or their results)")
        results = beta_results(models, x_test, k, n_eval=n_eval, seed=seed)
    betas = list(results)
    if not betas:
        raise ValueError("beta_explorer needs at least one model")
    figure = BetaFigure(results, x_test[: len(results[betas[0]].recon)].cpu(), dpi)
    default = min(range(len(betas)), key=lambda i: abs(np.log(betas[i])))  # beta nearest 1
    controls = {
        "beta": widgets.SelectionSlider(
            options=[(f"{b:g}", i) for i, b in enumerate(betas)],
            value=default,
            description="KL weight \u03b2",
            style={"description_width": "initial"},
        )
    }

    def image_leaf(state: dict[str, int]) -> widgets.Widget:
        return widgets.HTML(figure.html(betas[state["beta"]]))

    def numbers_leaf(state: dict[str, int]) -> widgets.Widget:
        return widgets.HTML(beta_numbers_html(results[betas[state["beta"]]], n_eval))

    header = widgets.HTML(
        "<b>\u03b2 explorer</b> (one VAE trained per \u03b2): move the slider to trade rate "
        "against distortion. Look for: where the red point sits on the grey lines of equal ELBO, "
        "and what the reconstructions keep of each digit as \u03b2 grows."
    )
    panels = [Panel(["beta"], numbers_leaf), Panel(["beta"], image_leaf)]
    return make_explorer(controls, panels, header=header, results=dict(results))
