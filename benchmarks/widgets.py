"""Section 5: update latency of the book's widgets (``vae.widgets``), in milliseconds.

Each explorer is built once (its build time is reported too: everything is precomputed), then
``vae.widgets.measure_latency`` makes ``n_updates`` random control changes in the kernel and
times each until every linked view has switched; we report the median and the maximum. This is
the kernel-side cost; in the static HTML the switch is a JavaScript link.
If ``vae.widgets`` or its ``measure_latency`` helper is missing, the section says so.
"""

from __future__ import annotations

import importlib
from typing import Any

from benchmarks._common import timed


def _explorers(smoke: bool) -> dict[str, Any]:
    w = importlib.import_module("vae.widgets")
    if smoke:  # the book's explorers precompute dozens of figures: too slow for a smoke run
        return {"toy explorer (smoke)": lambda: _toy_explorer(w)}
    return {"kl_gap_explorer": w.kl_gap_explorer, "latent_dim_explorer": w.latent_dim_explorer}


def _toy_explorer(w: Any) -> Any:
    """A 3 x 3-state explorer with HTML leaves, built by ``vae.widgets.make_explorer``."""
    import ipywidgets

    controls = {
        "a": ipywidgets.Dropdown(options=[0, 1, 2], value=0),
        "b": ipywidgets.Dropdown(options=[0, 1, 2], value=0),
    }
    panel = w.Panel(depends=("a", "b"), leaf=lambda st: ipywidgets.HTML(f"{st['a']}-{st['b']}"))
    return w.make_explorer(controls, [panel])


def run(n_updates: int = 50, smoke: bool = False, log=print) -> dict[str, Any]:
    try:
        w = importlib.import_module("vae.widgets")
    except Exception as err:  # noqa: BLE001 - any import failure means "not available"
        return {"available": False, "reason": f"vae.widgets not importable: {err!r}"}
    if not hasattr(w, "measure_latency"):
        return {"available": False, "reason": "vae.widgets has no measure_latency helper"}
    rows = {}
    try:
        makers = _explorers(smoke)
    except AttributeError as err:
        return {"available": False, "reason": f"vae.widgets lacks an explorer: {err}"}
    for name, make in makers.items():
        try:
            build_s, explorer = timed(make)
            stats = w.measure_latency(explorer, n_updates=n_updates)
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
    if not rows:
        return {"available": False, "reason": "no explorer found in vae.widgets"}
    return {"available": True, "rows": rows, "n_updates": n_updates}
