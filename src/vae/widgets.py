"""Interactive explorers for the book: they work in a kernel AND in the static HTML.

A Python callback (``interact``, ``observe``) runs only where there is a kernel; the built book
has none. So every explorer here precomputes its result for EVERY position of its controls and
lays the results out in nested :class:`ipywidgets.Stack` widgets, one level per control. Each
control's ``index`` is tied to the ``selected_index`` of its stacks with
:func:`ipywidgets.jsdlink`, a link that runs in the browser's JavaScript: in the static page (whose
widget state myst-nb embeds) moving a slider switches the visible figure and numbers with no
Python at all, and in a kernel it is the same instant switch. A Python observer mirrors the links
so that :meth:`Explorer.select` works without a front end (tests, :func:`measure_latency`).

* :func:`kl_gap_explorer` -- chapter 3: the linear-Gaussian model, where log p(x), the ELBO and
  the gap KL(q || p(z|x)) are exact; controls: latent dimension M, the choice of q, a std scale.
* :func:`latent_dim_explorer` -- chapter 5: VAEs with M = 1, 2, 4, 8, 16 trained on the digits;
  held-out ELBO, importance-sampled log p_K(x) with a K control, the estimated gap, KL per
  latent coordinate (active units), reconstructions and samples.

All log-densities are in nats (per image). Figures are PNGs at a modest dpi embedded as data
URIs in :class:`ipywidgets.HTML` leaves (with alt text), so the page needs no image files.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import itertools
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from torch.distributions import Independent, Normal

from vae.data import load_digits
from vae.estimators import active_units, kl_per_dimension, log_marginal_is
from vae.linear import LinearGaussian
from vae.model import VAE
from vae.plot import gaussian_ellipse, show_images
from vae.train import fit

# --------------------------------------------------------------------------------------------
# Generic machinery: precomputed leaves in nested stacks, switched by JS links.
# --------------------------------------------------------------------------------------------


def png_bytes(fig: Figure, colors: int | None = 64) -> bytes:
    """Render a matplotlib figure (at its own dpi) to PNG bytes.

    ``colors`` quantizes to a palette of that many colours, which makes the PNG about three
    times smaller; ``None`` keeps full RGB.
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    if colors is not None:
        img = img.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    img.save(out, format="png")
    return out.getvalue()


def clear_data(ax) -> None:
    """Remove an axes' data artists and legend but keep its ticks and labels (``ax.clear()``
    rebuilds the ticks, which costs most of a redraw)."""
    for artist in [*ax.patches, *ax.lines, *ax.texts, *ax.collections, *ax.images]:
        artist.remove()
    ax.containers.clear()  # bar containers, which legends also read
    if ax.get_legend() is not None:
        ax.get_legend().remove()


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` torch CPU threads (``None``: unchanged), restoring the setting after.

    The explorers do thousands of tiny tensor operations; with several threads on a busy
    machine each costs milliseconds of synchronization, with one thread microseconds.
    """
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` element with the PNG inlined as a data URI (scales down to the page width)."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        'style="max-width:100%;height:auto;display:block">'
    )


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
        stacks: (control name, stack) pairs, the targets of the links.
        results: the numbers behind the figures, for glue/asserts in the chapters.
    """

    widget: widgets.Widget
    controls: dict[str, widgets.Widget]
    stacks: list[tuple[str, widgets.Stack]] = field(default_factory=list)
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
        """The leaf widgets currently shown (one per panel), following the stacks."""
        out = []
        for child in self.widget.children:
            while isinstance(child, widgets.Stack):
                child = child.children[child.selected_index]
            if getattr(child, "_vae_leaf", False):
                out.append(child)
        return out


def _build_stack(panel: Panel, names: list[str], state: dict[str, int], explorer: Explorer):
    remaining = [n for n in names if n not in state and n not in panel.skip(state)]
    if not remaining:
        leaf = panel.leaf(dict(state))
        leaf._vae_leaf = True
        return leaf
    name = remaining[0]
    control = explorer.controls[name]
    children = [
        _build_stack(panel, names, {**state, name: i}, explorer)
        for i in range(len(control.options))
    ]
    stack = widgets.Stack(children, selected_index=control.index)
    explorer.stacks.append((name, stack))
    explorer.links.append(widgets.jsdlink((control, "index"), (stack, "selected_index")))
    return stack


def make_explorer(
    controls: dict[str, widgets.Widget],
    panels: Sequence[Panel],
    header: widgets.Widget | None = None,
    results: dict | None = None,
) -> Explorer:
    """Assemble an :class:`Explorer`: controls on top, then one nested stack per panel."""
    explorer = Explorer(widget=widgets.VBox(), controls=controls, results=results or {})
    trees = [_build_stack(p, list(p.depends), {}, explorer) for p in panels]

    def mirror(change, name):  # the Python twin of the JS links (no front end needed)
        for n, stack in explorer.stacks:
            if n == name:
                stack.selected_index = change["new"]

    for name, control in controls.items():
        control.observe(lambda change, name=name: mirror(change, name), names="index")
    top = [header] if header is not None else []
    box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    explorer.widget.children = [*top, box, *trees]
    explorer.widget.add_class("vae-explorer")
    return explorer


@dataclass
class LatencyStats:
    """Wall-clock time of widget updates, in milliseconds."""

    median_ms: float
    max_ms: float
    n: int


def measure_latency(explorer: Explorer, n_updates: int = 50, seed: int = 0) -> LatencyStats:
    """Time ``n_updates`` random control changes in the kernel (median and max, in ms).

    Each update sets one control to a new index and waits until the Python side has switched
    every linked stack (what the JS link does in the browser), so this is the kernel's cost of
    an update; the browser's cost is measured by ``tests/test_browser.py``.
    """
    rng = random.Random(seed)
    names = [n for n, c in explorer.controls.items() if len(c.options) > 1]
    times = []
    for _ in range(n_updates):
        name = rng.choice(names)
        control = explorer.controls[name]
        new = rng.choice([i for i in range(len(control.options)) if i != control.index])
        start = time.perf_counter()
        control.index = new
        explorer.visible_leaves()
        times.append((time.perf_counter() - start) * 1e3)
    return LatencyStats(statistics.median(times), max(times), n_updates)


def _numbers_html(rows: list[tuple[str, str]], note: str = "") -> str:
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;font-weight:normal'>{k}</th>"
        f"<td style='text-align:right;font-family:monospace'>{v}</td></tr>"
        for k, v in rows
    )
    extra = f"<div style='font-size:90%;color:#555'>{note}</div>" if note else ""
    return f"<table class='vae-numbers'>{cells}</table>{extra}"


def _fmt(v: float) -> str:
    return f"{v:.3f}".replace("-", "\u2212")


# --------------------------------------------------------------------------------------------
# Chapter 3: the KL gap, exact, in the linear-Gaussian model.
# --------------------------------------------------------------------------------------------

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
        model = LinearGaussian.fit(x_train, m, rotation_seed=rotation_seed)
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
    dpi: int = 72,
    num_threads: int | None = 1,
) -> Explorer:
    """The KL-gap explorer of chapter 3 (exact; works in the static HTML).

    Fits :class:`~vae.linear.LinearGaussian` (float64, ``rotation_seed`` so the posterior is
    correlated) for each M in ``latent_dims`` to ``x_train`` (default: the training digits) and
    shows, for the held-out digits ``x_test[indices]``: log p(x), the ELBO and the gap
    KL(q || p(z|x)) as stacked bars (ELBO + gap = log p(x) exactly), the numbers, and q against
    the posterior for latent coordinates 1 and 2.
    Controls: M, the choice of q, the std scale of the "scaled std" q.
    ``explorer.results[(M, q, scale)]`` holds the :class:`GapResult` of each state.
    ``num_threads``: torch CPU threads while building (see :func:`torch_threads`).
    """
    with torch_threads(num_threads):
        return _kl_gap_explorer(x_train, x_test, latent_dims, scales, indices, rotation_seed, dpi)


def _kl_gap_explorer(x_train, x_test, latent_dims, scales, indices, rotation_seed, dpi):
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
            style={"button_width": "auto"},
        ),
        "scale": widgets.SelectionSlider(
            options=[(f"{s:g}", s) for s in scales],
            value=1.0 if 1.0 in scales else scales[0],
            description="std \u00d7 (scaled q)",
            style={"description_width": "initial"},
        ),
    }

    def key(state):
        m = latent_dims[state["M"]]
        name = Q_CHOICES[state["q"]]
        s = scales[state["scale"]] if name == "scaled std" else 1.0
        return (m, name, s)

    # fixed axis ranges per M, so switching q or the scale compares like with like
    ylims, zlims = {}, {}
    for m in latent_dims:
        rs = [r for k, r in results.items() if k[0] == m]
        lo = min(float(r.elbo.min()) for r in rs)
        hi = max(float(r.log_px.max()) for r in rs)
        pad = 0.08 * (hi - lo) + 1.0
        ylims[m] = (lo - pad, hi + pad)
        zlims[m] = 2.6 * max(
            float(np.sqrt(np.concatenate([np.diag(r.post_cov)[:2], r.q_var[:2]]).max())) for r in rs
        )

    fig = Figure(figsize=(7.6, 3.4), dpi=dpi)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.24, top=0.91, wspace=0.3)
    pngs: dict[tuple[int, str, float], bytes] = {}

    def draw(state) -> bytes:
        m, name, s = key(state)
        r = results[(m, name, s)]
        same = (m, "best diagonal q", 1.0) if s == 1.0 else (m, name, s)  # scale 1 = best q
        if same in pngs:
            return pngs[same]
        for ax in axes:
            clear_data(ax)
        # (a) stacked bars: ELBO from the floor, the gap on top reaching log p(x)
        ax = axes[0]
        floor = ylims[m][0]
        xs = np.arange(len(r.elbo))
        ax.bar(xs, r.elbo - floor, bottom=floor, width=0.6, color="#4c72b0", label="ELBO")
        ax.bar(
            xs, r.gap, bottom=r.elbo, width=0.6, color="#dd8452", label="gap = KL(q\u2016p(z|x))"
        )
        for i in xs:
            ax.hlines(r.log_px[i], i - 0.4, i + 0.4, colors="k", linestyles="--", lw=1)
            ax.annotate(
                f"gap {r.gap[i]:.2f}",
                (i, r.log_px[i]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        ax.plot([], [], "k--", lw=1, label="log p(x)")
        ax.set_ylim(*ylims[m])
        ax.set_xticks(xs, [f"digit #{i}" for i in indices], fontsize=8)
        ax.set_ylabel("nats (higher is better)")
        ax.set_title(f"M = {m}: ELBO + gap = log p(x)", fontsize=10)
        ax.legend(
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=3,
            frameon=False,
            handlelength=1.2,
            columnspacing=0.8,
        )
        # (b) q against the posterior, centred at the posterior mean
        ax = axes[1]
        lim = zlims[m]
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
            ax.set_xlabel("z\u2081 \u2212 E[z\u2081|x]")
            ax.set_ylabel("z\u2082 \u2212 E[z\u2082|x]")
            ax.set_title("2-std ellipses, coordinates 1 and 2", fontsize=10)
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
            ax.set_xlabel("z \u2212 E[z|x]")
            ax.set_ylabel("density")
            ax.set_title("densities (M = 1)", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
        pngs[same] = png_bytes(fig)
        return pngs[same]

    def leaf(state):
        m, name, s = key(state)
        r = results[(m, name, s)]
        qlabel = name if name != "scaled std" else f"posterior mean, best diagonal std \u00d7 {s:g}"
        rows = []
        for j, i in enumerate(indices):
            rows.append(
                (
                    f"digit #{i}",
                    f"log p(x) = {_fmt(r.log_px[j])} &nbsp; ELBO = {_fmt(r.elbo[j])} &nbsp; "
                    f"gap = {_fmt(r.gap[j])}",
                )
            )
        alt = (
            f"Latent dimension {m}, q = {qlabel}: stacked bars of ELBO and KL gap reaching "
            f"log p(x); gap {r.gap[0]:.3f} nats; ellipses of q and the posterior."
        )
        text = _numbers_html(rows, f"M = {m}, q = {html.escape(qlabel)}; all in nats, exact.")
        return widgets.HTML(img_tag(draw(state), alt) + text)

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


# --------------------------------------------------------------------------------------------
# Chapter 5: the latent dimension, estimated, with trained VAEs.
# --------------------------------------------------------------------------------------------


@dataclass
class LatentResult:
    """Held-out numbers of one trained VAE (nats per image, averaged over the evaluation set)."""

    latent_dim: int
    elbo: float
    log_px: dict[int, float]
    """K -> mean importance-sampled log p_K(x)."""
    kl_per_dim: np.ndarray
    active: np.ndarray
    train_seconds: float
    recon: torch.Tensor
    samples: torch.Tensor

    def gap(self, k: int) -> float:
        """Estimated gap log p_K(x) - ELBO (a lower estimate of KL(q || p(z|x)))."""
        return self.log_px[k] - self.elbo


def latent_dim_results(
    latent_dims: Sequence[int] = (1, 2, 4, 8, 16),
    ks: Sequence[int] = (1, 10, 100, 1000),
    epochs: int = 40,
    batch_size: int = 256,
    lr: float = 3e-3,
    n_eval: int = 100,
    n_show: int = 8,
    seed: int = 0,
    x_train: torch.Tensor | None = None,
    x_test: torch.Tensor | None = None,
    num_threads: int | None = 1,
    models: dict[int, VAE] | None = None,
) -> dict[int, LatentResult]:
    """Train one seeded VAE per latent dimension with :func:`vae.fit` and evaluate it.

    Evaluated on the first ``n_eval`` held-out digits: the ELBO (100 samples of z each), the
    importance-sampled log p_K(x) for each K in ``ks`` and their difference, the estimated gap.
    KL per coordinate and active units use the whole test set. Deterministic: every random draw
    is seeded from ``seed`` without touching the global random state. ``num_threads`` (default
    1) sets torch's CPU threads while it runs and restores them after: these small networks
    gain nothing from more threads, one thread is much faster on a busy machine, and the
    numbers do not depend on the machine's core count. ``None`` leaves the setting alone.

    ``models`` maps latent dimensions to VAEs already trained (e.g. by the chapter): those are
    evaluated as they are (``train_seconds`` is then NaN) and only the other dimensions of
    ``latent_dims`` are trained. The result is ordered by latent dimension.
    """
    with torch_threads(num_threads):
        return _latent_dim_results(
            latent_dims,
            ks,
            epochs,
            batch_size,
            lr,
            n_eval,
            n_show,
            seed,
            x_train,
            x_test,
            models or {},
        )


def _latent_dim_results(
    latent_dims, ks, epochs, batch_size, lr, n_eval, n_show, seed, x_train, x_test, models
) -> dict[int, LatentResult]:
    x_train = load_digits("train") if x_train is None else x_train
    x_test = load_digits("test") if x_test is None else x_test
    x_eval, x_show = x_test[:n_eval], x_test[:n_show]
    out = {}
    for m in sorted(set(latent_dims) | set(models)):
        if m in models:
            model, seconds = models[m], float("nan")
        else:
            model = VAE(latent_dim=m, seed=seed)
            seconds = fit(
                model,
                x_train,
                epochs=epochs,
                batch_size=batch_size,
                lr=lr,
                seed=seed,
                progress=False,
                device="cpu",
            ).seconds
        model.eval()
        dev = next(model.parameters()).device
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            elbo = model.elbo(x_eval.to(dev), n_samples=100).elbo.mean().item()
            log_px = {k: log_marginal_is(model, x_eval.to(dev), k).mean().item() for k in ks}
            samples = model.sample(n_show)
        out[m] = LatentResult(
            m,
            elbo,
            log_px,
            kl_per_dimension(model, x_test.to(dev)).cpu().numpy(),
            active_units(model, x_test.to(dev)).cpu().numpy(),
            seconds,
            model.reconstruct(x_show.to(dev)).cpu(),
            samples.cpu(),
        )
    return out


def latent_dim_explorer(
    latent_dims: Sequence[int] = (1, 2, 4, 8, 16),
    ks: Sequence[int] = (1, 10, 100, 1000),
    epochs: int = 40,
    n_eval: int = 100,
    seed: int = 0,
    dpi: int = 72,
    results: dict[int, LatentResult] | None = None,
    models: dict[int, VAE] | None = None,
) -> Explorer:
    """The latent-dimension explorer of chapter 5 (estimated; works in the static HTML).

    Trains (or takes from ``results``, see :func:`latent_dim_results`; ``models`` passes VAEs
    already trained, e.g. the chapter's, so only the missing M are trained) one VAE per M and shows
    the held-out ELBO and log p_K(x) against M, KL per latent coordinate (active units),
    reconstructions and samples (one figure per M), and the numbers for each K.
    ``explorer.results`` maps M to its :class:`LatentResult`.
    """
    if results is None:
        results = latent_dim_results(
            latent_dims, ks, epochs=epochs, n_eval=n_eval, seed=seed, models=models
        )
    latent_dims = list(results)
    x_show = load_digits("test")[: len(results[latent_dims[0]].recon)]
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
    fig = Figure(figsize=(10.5, 3.8), dpi=dpi)
    grid = fig.add_gridspec(2, 3, width_ratios=[1, 0.9, 1.5], height_ratios=[1, 1])
    ax_curve, ax_kl = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[:, 1])
    ax_rec, ax_smp = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, 2])
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.13, top=0.92, wspace=0.28, hspace=0.25)
    colors = {1: "#8c8c8c", 10: "#8172b2", 100: "#dd8452", 1000: "#c44e52"}
    kl_max = max(float(r.kl_per_dim.max()) for r in results.values())

    def figure(state) -> bytes:
        m = latent_dims[state["M"]]
        r = results[m]
        for ax in (ax_curve, ax_kl, ax_rec, ax_smp):
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
        ax_curve.set_xlabel("latent dimension M")
        ax_curve.set_ylabel("held-out nats per image")
        ax_curve.set_title("bounds on log p(x)", fontsize=10)
        ax_curve.legend(fontsize=7, loc="lower right")
        idx = np.arange(1, m + 1)
        ax_kl.bar(idx, r.kl_per_dim, color=np.where(r.active, "#4c72b0", "#c0c0c0"))
        ax_kl.set_ylim(0, 1.05 * kl_max)
        ax_kl.set_xticks(idx if m <= 8 else idx[1::2])
        ax_kl.set_xlabel("latent coordinate")
        ax_kl.set_ylabel("KL(q(z_m|x) \u2016 N(0,1)) (nats)")
        ax_kl.set_title(f"M = {m}: {int(r.active.sum())} of {m} units active", fontsize=10)
        show_images(
            torch.cat([x_show, r.recon]),
            ncol=len(x_show),
            ax=ax_rec,
            title="held-out digits / reconstructions",
        )
        show_images(r.samples, ncol=len(r.samples), ax=ax_smp, title="samples from p(x)")
        return png_bytes(fig)

    def image_leaf(state):
        m = latent_dims[state["M"]]
        r = results[m]
        alt = (
            f"VAE with latent dimension {m}: held-out ELBO {r.elbo:.1f} nats; "
            f"{int(r.active.sum())} of {m} latent units active; reconstructions and samples."
        )
        return widgets.HTML(img_tag(figure(state), alt))

    def numbers_leaf(state):
        m, k = latent_dims[state["M"]], ks[state["K"]]
        r = results[m]
        rows = [
            ("held-out ELBO", _fmt(r.elbo)),
            (f"log p\u0302<sub>K</sub>(x), K = {k}", _fmt(r.log_px[k])),
            ("estimated gap log p\u0302<sub>K</sub> \u2212 ELBO", _fmt(r.gap(k))),
            ("active units", f"{int(r.active.sum())} / {m}"),
        ]
        note = f"M = {m}, K = {k}: nats per image, mean over {n_eval} held-out digits."
        if k == 1:
            note += " With K = 1 the estimate is a one-sample ELBO: the gap estimate is noise."
        return widgets.HTML(_numbers_html(rows, note))

    header = widgets.HTML(
        "<b>Latent-dimension explorer</b> (trained VAEs, estimated): move the slider to change M, "
        "pick the number K of importance samples."
    )
    panels = [Panel(["M", "K"], numbers_leaf), Panel(["M"], image_leaf)]
    return make_explorer(controls, panels, header=header, results=results)


def all_states(explorer: Explorer):
    """Every combination of control indices (for tests)."""
    names = list(explorer.controls)
    ranges = [range(len(explorer.controls[n].options)) for n in names]
    for combo in itertools.product(*ranges):
        yield dict(zip(names, combo, strict=True))
