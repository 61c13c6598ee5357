"""The latent-dimension explorer: held-out bounds against M, estimated with trained VAEs.

For each latent dimension M (one trained VAE each, passed in: nothing is trained here): the
held-out ELBO, the importance-sampled log p_K(x) with a K control, the estimated gap, KL per
latent coordinate (active units), reconstructions and decoder means at z ~ p(z). Nats per image.

:func:`latent_dim_results` computes, :class:`LatentFigures` draws one M,
:func:`latent_dim_explorer` lays the states out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from torch import Tensor

from vae.data import load_digits
from vae.estimators import ACTIVE_MIN_KL, kl_per_dimension, log_marginal_is
from vae.model import VAE
from vae.plot import image_grid_png
from vae.widgets.render import clear_data, figure_img, figure_row, fmt, img_tag, numbers_html, panel
from vae.widgets.stack import Explorer, Panel, make_explorer

K_COLOURS = {1: "#8c8c8c", 10: "#8172b2", 100: "#dd8452", 1000: "#c44e52"}
USED, COLLAPSED = "#1f77b4", "#d62728"  # matplotlib's C0 and C3
DIGIT_SCALE = 6
"""CSS pixels per digit pixel in the explorers' digit grids, so that an 8x8 digit is 48 px wide
(less on a column too narrow for the grid, which then shrinks to fit)."""


def digits_html(
    x: Tensor,
    recon: Tensor,
    samples: Tensor,
    titles: tuple[str, str] = ("held-out digits / reconstructions", "decoder means at z ~ p(z)"),
    scale: int = DIGIT_SCALE,
) -> str:
    """Digits ``x`` [N, 64] above their reconstructions ``recon`` [N, 64], and ``samples``
    [S, 64] in a row under them: two pixel-exact images (:func:`vae.plot.image_grid_png`), each
    digit ``8 * scale`` CSS pixels wide, with their titles."""
    blocks = []
    for title, images, ncol, alt in (
        (titles[0], torch.cat([x, recon]), len(x),
         f"{len(x)} held-out digits (top row) and their reconstructions (bottom row)"),
        (titles[1], samples, len(samples),
         f"{len(samples)} decoder means at z drawn from the prior"),
    ):  # fmt: skip
        img = img_tag(image_grid_png(images.cpu(), ncol=ncol), alt, scale=scale)
        blocks.append(f"<div style='font-size:90%;margin:6px 0 2px'>{title}</div>{img}")
    return f"<div class='vae-digits'>{''.join(blocks)}</div>"


def active_coordinates(kl_per_dim: np.ndarray | Tensor) -> np.ndarray:
    """Which coordinates are active (bool [M]), from their mean KL per coordinate [M] in nats."""
    return np.asarray(kl_per_dim) >= ACTIVE_MIN_KL


@dataclass
class LatentResult:
    """Held-out numbers of one trained VAE (nats per image, averaged over the evaluation set)."""

    latent_dim: int
    elbo: float
    log_px: dict[int, float]
    """K -> mean importance-sampled log p_K(x)."""
    kl_per_dim: np.ndarray
    """Mean KL(q(z_m|x) || N(0, 1)) per latent coordinate over all of ``x_test``, nats [M]."""
    active: np.ndarray
    """Whether each coordinate is active, bool [M]; that is, ``kl_per_dim >= ACTIVE_MIN_KL``."""
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
    difference, the estimated gap. KL per coordinate and active units (KL >= ACTIVE_MIN_KL
    nats) use all of ``x_test``.
    Nothing is trained here: the caller trains the models and passes them. Deterministic:
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
            kl = kl_per_dimension(model, x_test.to(dev)).cpu().numpy()
        out[m] = LatentResult(
            m,
            elbo,
            log_px,
            kl,
            active_coordinates(kl),
            model.reconstruct(x_show.to(dev)).cpu(),
            samples.cpu(),
        )
    return out


class LatentFigures:
    """Draws one M: the bounds against M with that M marked beside KL per coordinate (active
    ones blue, collapsed ones red), and under them digits, reconstructions and samples."""

    def __init__(
        self, results: Mapping[int, LatentResult], ks: Sequence[int], x_show: Tensor, dpi: int
    ) -> None:
        self.results, self.ks, self.x_show = results, list(ks), x_show
        self.dims = list(results)
        self.kl_max = max(float(r.kl_per_dim.max()) for r in results.values())
        # narrow figures (about 240 px on the page), so that text stays legible on a phone
        self.fig_curve, self.ax_curve = panel((3.4, 3.4), dpi, (0.25, 0.96, 0.15, 0.9))
        self.fig_kl, self.ax_kl = panel((3.0, 3.4), dpi, (0.2, 0.96, 0.15, 0.83))

    def html(self, m: int) -> str:
        """The two figures of latent dimension ``m`` side by side and its digits under them, with
        their alt text."""
        r = self.results[m]
        curve_alt = (
            f"Held-out ELBO and importance-sampled log p(x) against the latent dimension, "
            f"M = {m} marked (ELBO {fmt(r.elbo)} nats)."
        )
        kl_alt = (
            f"KL per latent coordinate, M = {m}: {int(r.active.sum())} of {m} latent units "
            f"active (KL of at least {ACTIVE_MIN_KL} nats)."
        )
        clear_data(self.ax_curve)
        clear_data(self.ax_kl)
        self._draw_curves(m)
        self._draw_kl(m)
        return figure_row(
            figure_img(self.fig_curve, curve_alt), figure_img(self.fig_kl, kl_alt)
        ) + digits_html(self.x_show, r.recon, r.samples)

    def _draw_curves(self, m: int) -> None:
        ax, dims = self.ax_curve, self.dims
        ax.plot(dims, [self.results[d].elbo for d in dims], "o-", color="#4c72b0", label="ELBO")
        for k in self.ks:
            if k != 1:
                values = [self.results[d].log_px[k] for d in dims]
                label = rf"$\log \hat p_K$, K = {k}"
                ax.plot(dims, values, ".-", color=K_COLOURS.get(k, "k"), label=label)
        ax.axvline(m, color="k", lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims, [str(d) for d in dims])
        ax.tick_params(labelsize=10)
        ax.set_xlabel("latent dimension M", fontsize=11)
        ax.set_ylabel("held-out nats per image", fontsize=11)
        ax.set_title("bounds on log p(x)", fontsize=12)
        ax.legend(fontsize=10, loc="upper left")

    def _draw_kl(self, m: int) -> None:
        ax, r = self.ax_kl, self.results[m]
        idx = np.arange(1, m + 1)
        ax.bar(idx, r.kl_per_dim, color=np.where(r.active, USED, COLLAPSED))
        ax.axhline(ACTIVE_MIN_KL, color="k", lw=0.6, ls=":")
        ax.set_ylim(0, 1.05 * self.kl_max)
        ax.set_xticks(idx if m <= 8 else idx[1::4] if m > 16 else idx[1::2])
        ax.tick_params(labelsize=10)
        ax.set_xlabel("latent coordinate m", fontsize=11)
        ax.set_ylabel("KL to N(0, 1), nats", fontsize=11)
        ax.set_title(
            f"M = {m}: {int(r.active.sum())} of {m} active\n(red: < {ACTIVE_MIN_KL} nats)",
            fontsize=11,
        )


def latent_numbers_html(r: LatentResult, k: int, n_eval: int) -> str:
    """The table of one (M, K) state: ELBO, log p_K(x), their gap, active units."""
    rows = [
        ("held-out ELBO", fmt(r.elbo)),
        (f"log p\u0302<sub>K</sub>(x), K = {k}", fmt(r.log_px[k])),
        ("estimated gap log p\u0302<sub>K</sub> \u2212 ELBO", fmt(r.gap(k))),
        (f"active units (KL \u2265 {ACTIVE_MIN_KL} nats)", f"{r.active.sum()} / {r.latent_dim}"),
    ]
    note = f"M = {r.latent_dim}, K = {k}: nats per image, mean over {n_eval} held-out digits."
    if k == 1:
        note += " With K = 1 the estimate is a one-sample ELBO: the gap estimate is noise."
    # one height for every K (the K = 1 note is longer): the figures below do not jump
    return f"<div style='min-height:12em'>{numbers_html(rows, note)}</div>"


def _latent_controls(latent_dims: Sequence[int], ks: Sequence[int]) -> dict:
    return {
        "M": widgets.SelectionSlider(
            options=list(latent_dims),
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


def latent_dim_explorer(
    models: Mapping[int, VAE] | None = None,
    x_test: Tensor | None = None,
    ks: Sequence[int] = (1, 10, 100, 1000),
    n_eval: int = 100,
    seed: int = 0,
    dpi: int = 144,
    results: Mapping[int, LatentResult] | None = None,
) -> Explorer:
    """The latent-dimension explorer (estimated; works in the static HTML).

    Evaluates the trained VAEs ``models`` (M -> VAE) with :func:`latent_dim_results` on
    ``x_test`` (default: the held-out digits), or shows ``results`` computed before, and shows
    the held-out ELBO and log p_K(x) against M and KL per latent coordinate (active units) in
    two figures per M (rendered at ``dpi`` and shown at half that; they wrap one under the
    other on a narrow screen), reconstructions and decoder means at z ~ p(z) under them
    (pixel-exact digits, :func:`digits_html`), and the numbers for each K. A unit is active
    when its mean KL to the prior is at least :data:`~vae.estimators.ACTIVE_MIN_KL` nats; the
    figure and the table both say so.
    ``n_eval`` names the evaluation set in the table's note (pass the one ``results`` were
    computed on).
    ``explorer.results`` maps M to its :class:`LatentResult`.
    """
    x_test = load_digits("test") if x_test is None else x_test
    if results is None:
        if models is None:
            raise ValueError("latent_dim_explorer needs trained models (or their results)")
        results = latent_dim_results(models, x_test, ks, n_eval=n_eval, seed=seed)
    dims = list(results)
    x_show = x_test[: len(results[dims[0]].recon)].cpu()
    controls = _latent_controls(dims, ks)
    figures = LatentFigures(results, ks, x_show, dpi)

    def numbers_leaf(state: dict[str, int]) -> widgets.Widget:
        r = results[dims[state["M"]]]
        return widgets.HTML(latent_numbers_html(r, ks[state["K"]], n_eval))

    def image_leaf(state: dict[str, int]) -> widgets.Widget:
        return widgets.HTML(figures.html(dims[state["M"]]))

    header = widgets.HTML(
        "<b>Latent-dimension explorer</b> (trained VAEs, estimated): move the slider to change M, "
        "pick the number K of importance samples. Look for: how the gap log p\u0302<sub>K</sub>"
        " \u2212 ELBO changes with M and with K, and which coordinates turn red (collapsed)."
    )
    panels = [Panel(["M", "K"], numbers_leaf), Panel(["M"], image_leaf)]
    return make_explorer(controls, panels, header=header, results=dict(results))
