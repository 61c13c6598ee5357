"""Chapter 5's explorer: the latent dimension, estimated, with trained VAEs.

For each latent dimension M (one trained VAE each, passed in: nothing is trained here): the
held-out ELBO, the importance-sampled log p_K(x) with a K control, the estimated gap, KL per
latent coordinate (active units), reconstructions and decoder means at z ~ p(z). Nats per image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from vae.data import load_digits
from vae.estimators import active_units, kl_per_dimension, log_marginal_is
from vae.model import VAE
from vae.plot import show_reconstructions_and_samples
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


@dataclass
class LatentResult:
    """Held-out numbers of one trained VAE (nats per image, averaged over the evaluation set)."""

    latent_dim: int
    elbo: float
    log_px: dict[int, float]
    """K -> mean importance-sampled log p_K(x)."""
    kl_per_dim: np.ndarray
    active: np.ndarray
    recon: torch.Tensor
    samples: torch.Tensor

    def gap(self, k: int) -> float:
        """Estimated gap log p_K(x) - ELBO (a lower estimate of KL(q || p(z|x)))."""
        return self.log_px[k] - self.elbo


def latent_dim_results(
    models: Mapping[int, VAE],
    x_test: Tensor | None = None,
    ks: Sequence[int] = (1, 10, 100, 1000),
    n_eval: int = 100,
    n_show: int = 8,
    seed: int = 0,
) -> dict[int, LatentResult]:
    """Evaluate trained VAEs, one per latent dimension: ``models`` maps M to its VAE.

    On the first ``n_eval`` digits of ``x_test`` (default: the held-out digits): the ELBO
    (100 samples of z each), the importance-sampled log p_K(x) for each K in ``ks`` and their
    difference, the estimated gap. KL per coordinate and active units use all of ``x_test``.
    Nothing is trained here: the chapter trains the models and passes them. Deterministic:
    every random draw is seeded from ``seed`` without touching the global random state. The
    result is ordered by latent dimension.
    """
    x_test = load_digits("test") if x_test is None else x_test
    x_eval, x_show = x_test[:n_eval], x_test[:n_show]
    out = {}
    for m in sorted(models):
        model = models[m].eval()
        dev = next(model.parameters()).device
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            elbo = model.elbo(x_eval.to(dev), n_samples=100).mean().item()
            log_px = {k: log_marginal_is(model, x_eval.to(dev), k).mean().item() for k in ks}
            samples = model.sample(n_show)
        out[m] = LatentResult(
            m,
            elbo,
            log_px,
            kl_per_dimension(model, x_test.to(dev)).cpu().numpy(),
            active_units(model, x_test.to(dev)).cpu().numpy(),
            model.reconstruct(x_show.to(dev)).cpu(),
            samples.cpu(),
        )
    return out


def latent_dim_explorer(
    models: Mapping[int, VAE] | None = None,
    x_test: Tensor | None = None,
    ks: Sequence[int] = (1, 10, 100, 1000),
    n_eval: int = 100,
    seed: int = 0,
    dpi: int = 144,
    results: Mapping[int, LatentResult] | None = None,
) -> Explorer:
    """The latent-dimension explorer of chapter 5 (estimated; works in the static HTML).

    Evaluates the trained VAEs ``models`` (M -> VAE) with :func:`latent_dim_results` on
    ``x_test`` (default: the held-out digits), or shows ``results`` computed before, and shows
    the held-out ELBO and log p_K(x) against M, KL per latent coordinate (active units),
    reconstructions and decoder means at z ~ p(z) (two figures per M, rendered at ``dpi`` and
    shown at half that; they wrap one under the other on a narrow screen), and the numbers for
    each K. A unit is
    active when the variance over the data of its posterior mean exceeds 0.01
    (:func:`~vae.estimators.active_units`); the figure and the table both say so.
    ``explorer.results`` maps M to its :class:`LatentResult`.
    """
    x_test = load_digits("test") if x_test is None else x_test
    if results is None:
        if models is None:
            raise ValueError("latent_dim_explorer needs trained models (or their results)")
        results = latent_dim_results(models, x_test, ks, n_eval=n_eval, seed=seed)
    latent_dims = list(results)
    x_show = x_test[: len(results[latent_dims[0]].recon)].cpu()
    controls = {
        "M": widgets.SelectionSlider(
            options=latent_dims,
            value=latent_dims[min(1, len(latent_dims) - 1)],
            description="latent dim M",
            style={"description_width": "initial"},
        ),
        "K": widgets.ToggleButtons(
            options=[(f"K = {k}", k) for k in ks],
            value=ks[-1],
            description="IS samples:",
            style={"button_width": "auto", "description_width": "initial"},
        ),
    }
    fig_bounds = Figure(figsize=(5.8, 3.4), dpi=dpi)
    ax_curve, ax_kl = fig_bounds.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 0.9]})
    fig_bounds.subplots_adjust(left=0.11, right=0.98, bottom=0.15, top=0.85, wspace=0.42)
    fig_images = Figure(figsize=(3.2, 3.4), dpi=dpi)
    ax_rec, ax_smp = fig_images.subplots(2, 1, gridspec_kw={"height_ratios": [2, 1]})
    fig_images.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, hspace=0.3)
    colors = {1: "#8c8c8c", 10: "#8172b2", 100: "#dd8452", 1000: "#c44e52"}
    kl_max = max(float(r.kl_per_dim.max()) for r in results.values())

    def bounds_png(m: int) -> bytes:
        r = results[m]
        for ax in (ax_curve, ax_kl):
            clear_data(ax)
        ax_curve.plot(
            latent_dims, [results[d].elbo for d in latent_dims], "o-", color="#4c72b0", label="ELBO"
        )
        for k in ks:
            if k == 1:
                continue
            ax_curve.plot(
                latent_dims,
                [results[d].log_px[k] for d in latent_dims],
                ".-",
                color=colors.get(k, "k"),
                label=rf"$\log \hat p_K$, K = {k}",
            )
        ax_curve.axvline(m, color="k", lw=0.8, ls=":")
        ax_curve.set_xscale("log", base=2)
        ax_curve.set_xticks(latent_dims, [str(d) for d in latent_dims])
        ax_curve.tick_params(labelsize=10)
        ax_curve.set_xlabel("latent dimension M", fontsize=11)
        ax_curve.set_ylabel("held-out nats per image", fontsize=11)
        ax_curve.set_title("bounds on log p(x)", fontsize=12)
        ax_curve.legend(fontsize=9, loc="lower right")
        idx = np.arange(1, m + 1)
        ax_kl.bar(idx, r.kl_per_dim, color=np.where(r.active, "#4c72b0", "#c0c0c0"))
        ax_kl.set_ylim(0, 1.05 * kl_max)
        ax_kl.set_xticks(idx if m <= 8 else idx[1::4] if m > 16 else idx[1::2])
        ax_kl.tick_params(labelsize=10)
        ax_kl.set_xlabel("latent coordinate m", fontsize=11)
        ax_kl.set_ylabel("KL(q(z_m|x) \u2016 N(0,1)), nats", fontsize=11)
        ax_kl.set_title(
            f"M = {m}: {int(r.active.sum())} of {m} units active\n"
            "(blue: Var\u2093 E[z_m|x] > 0.01)",
            fontsize=11,
        )
        return png_bytes(fig_bounds)

    def images_png(m: int) -> bytes:
        r = results[m]
        for ax in (ax_rec, ax_smp):
            clear_data(ax)
        titles = ("held-out digits / reconstructions", "decoder means at z ~ p(z)")
        show_reconstructions_and_samples(ax_rec, ax_smp, x_show, r.recon, r.samples, titles)
        for ax in (ax_rec, ax_smp):
            ax.title.set_fontsize(11)
        return png_bytes(fig_images)

    def image_leaf(state):
        m = latent_dims[state["M"]]
        r = results[m]
        active = f"{int(r.active.sum())} of {m} latent units active"
        bounds_alt = (
            f"Held-out ELBO and importance-sampled log p(x) against the latent dimension, "
            f"M = {m} marked (ELBO {fmt(r.elbo)} nats); KL per latent coordinate: {active} "
            "(variance of the posterior mean over the data above 0.01)."
        )
        images_alt = (
            f"Latent dimension {m}: held-out digits, their reconstructions, and decoder means "
            "at z drawn from the prior."
        )
        return widgets.HTML(
            figure_row(
                img_tag(bounds_png(m), bounds_alt, density=2),
                img_tag(images_png(m), images_alt, density=2),
            )
        )

    def numbers_leaf(state):
        m, k = latent_dims[state["M"]], ks[state["K"]]
        r = results[m]
        rows = [
            ("held-out ELBO", fmt(r.elbo)),
            (f"log p\u0302<sub>K</sub>(x), K = {k}", fmt(r.log_px[k])),
            ("estimated gap log p\u0302<sub>K</sub> \u2212 ELBO", fmt(r.gap(k))),
            (
                "active units (Var<sub>x</sub> E[z<sub>m</sub>|x] &gt; 0.01)",
                f"{int(r.active.sum())} / {m}",
            ),
        ]
        note = f"M = {m}, K = {k}: nats per image, mean over {n_eval} held-out digits."
        if k == 1:
            note += " With K = 1 the estimate is a one-sample ELBO: the gap estimate is noise."
        return widgets.HTML(numbers_html(rows, note))

    header = widgets.HTML(
        "<b>Latent-dimension explorer</b> (trained VAEs, estimated): move the slider to change M, "
        "pick the number K of importance samples."
    )
    panels = [Panel(["M", "K"], numbers_leaf), Panel(["M"], image_leaf)]
    return make_explorer(controls, panels, header=header, results=results)
