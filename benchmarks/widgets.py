"""Section 5: update latency of the book's widgets (``vae.widgets``), in milliseconds.

Each explorer is built once (its build time is reported too: everything is precomputed), then
:func:`measure_latency` makes ``n_updates`` random control changes in the kernel and times each
until every linked view has switched; we report the median and the maximum. This is the
kernel-side cost; in the static HTML the switch is a JavaScript link.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

import ipywidgets

import vae
from benchmarks._common import timed
from vae.widgets import (
    Explorer,
    Panel,
    beta_explorer,
    interpolation_explorer,
    kl_gap_explorer,
    latent_dim_explorer,
    latent_point_explorer,
    make_explorer,
)


@dataclass
class LatencyStats:
    """Wall-clock time of widget updates, in milliseconds."""

    median_ms: float
    max_ms: float
    n: int


def measure_latency(explorer: Explorer, n_updates: int = 50, seed: int = 0) -> LatencyStats:
    """Time ``n_updates`` random control changes of a ``vae.widgets.Explorer`` (median and max).

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


def _latent_dim_models() -> dict[int, Any]:
    """The VAEs of chapter 5 (its settings: two hidden layers, 60 epochs), trained untimed."""
    x_train = vae.load_digits("train")
    models = {}
    for m in (1, 2, 4, 8, 16):
        models[m] = vae.VAE(latent_dim=m, hidden=(128, 128), seed=0)
        vae.fit(models[m], x_train, epochs=60, batch_size=256, lr=5e-3, progress=False)
    return models


def _beta_models() -> dict[float, Any]:
    """The beta explorer's VAEs (chapter 8: M = 2, Categorical, one per beta), trained untimed."""
    x_train = vae.load_digits("train")
    models = {}
    for beta in (0.3, 1.0, 3.0, 10.0):
        models[beta] = vae.VAE(latent_dim=2, likelihood="categorical")
        vae.fit(
            models[beta], x_train, epochs=40, batch_size=256, lr=5e-3, beta=beta, progress=False
        )
    return models


def _explorers(smoke: bool) -> dict[str, Any]:
    if smoke:  # the book's explorers precompute dozens of figures: too slow for a smoke run
        return {"toy explorer (smoke)": _toy_explorer}
    models = _latent_dim_models()
    betas = _beta_models()
    x_test, labels = vae.load_digits("test", return_labels=True)
    first = [int((labels == c).nonzero()[0]) for c in range(10)]
    pairs = [(0, 6), (1, 7), (3, 8), (4, 9), (2, 5)]
    names = [str(c) for c in range(10)]
    return {
        "kl_gap_explorer": kl_gap_explorer,
        "latent_dim_explorer": lambda: latent_dim_explorer(models, n_eval=50),
        "beta_explorer": lambda: beta_explorer(betas, x_test, k=100, n_eval=100),
        "latent_point_explorer": lambda: latent_point_explorer(betas[1.0]),
        "interpolation_explorer": lambda: interpolation_explorer(
            betas[1.0], x_test[first], pairs, names
        ),
    }


def _toy_explorer() -> Explorer:
    """A 3 x 3-state explorer with HTML leaves, built by ``vae.widgets.make_explorer``."""
    controls = {
        "a": ipywidgets.Dropdown(options=[0, 1, 2], value=0),
        "b": ipywidgets.Dropdown(options=[0, 1, 2], value=0),
    }
    panel = Panel(depends=("a", "b"), leaf=lambda st: ipywidgets.HTML(f"{st['a']}-{st['b']}"))
    return make_explorer(controls, [panel])


def run(n_updates: int = 50, smoke: bool = False, log=print) -> dict[str, Any]:
    rows = {}
    makers = _explorers(smoke)
    for name, make in makers.items():
        try:
            build_s, explorer = timed(make)
            stats = measure_latency(explorer, n_updates=n_updates)
        except Exception as err:  # noqa: BLE001 - report, do not fail the whole benchmark
            rows[name] = {"error": repr(err)}
            log(f"  widget {name}: failed: {err!r}")
            continue
        rows[name] = {
            "build_seconds": build_s,
            "median_ms": float(stats.median_ms),
            "max_ms": float(stats.max_ms),
            "n_updates": int(stats.n),
        }
        log(f"  widget {name}: median {stats.median_ms:.2f} ms, max {stats.max_ms:.2f} ms")
    return {"available": True, "rows": rows, "n_updates": n_updates}
