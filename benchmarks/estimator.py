"""Section 3: time and peak memory of ``vae.estimators.log_marginal_is``.

Each measurement runs in a fresh subprocess (``python -m benchmarks.estimator WORKER-ARGS``) so
that the peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which sees
PyTorch's allocations, unlike ``tracemalloc``) belongs to that measurement alone. The worker
loads the data and the model, warms up (a K = 1 call), resets the peak RSS (Linux:
``/proc/self/clear_refs``; elsewhere the peak so far is the baseline), runs the estimator once
and reports the peak minus the resident memory before the call: the extra memory it needed.

``chunked`` is the package's ``log_marginal_is`` (a running logsumexp over chunks of about
``vae.latent_model.MAX_ELEMENTS`` numbers, counted with the decoder's outputs per pixel);
``naive`` is the reference: all K samples at once, one [K, N, D] likelihood evaluation and one
logsumexp. Both estimate the same quantity, so their means agree within Monte Carlo noise.

The workers run with ``MALLOC_MMAP_THRESHOLD_`` fixed: by default glibc raises its mmap threshold
after large frees and then keeps freed chunks in the heap, so the peak RSS would creep up with
the number of chunks even though the live memory does not.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from vae.data import load_digits
from vae.estimators import log_marginal_is, log_weights
from vae.latent_model import MAX_ELEMENTS, points_per_chunk
from vae.model import VAE


def naive_log_marginal(model: VAE, x: torch.Tensor, k: int) -> torch.Tensor:
    """log p_K(x) with every sample in memory at once: [N], in nats (the reference)."""
    with torch.no_grad():
        q = model.encode(x)
        z = q.sample((k,))  # [K, N, M]
        log_w = log_weights(model, x, z, q)  # [K, N]
        return torch.logsumexp(log_w, dim=0) - math.log(k)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _status_mb(field: str) -> float | None:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM) in MiB, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def worker(k: int, mode: str, n_test: int | None, state: str | None, latent_dim: int) -> dict:
    torch.manual_seed(0)
    x = load_digits("test")
    if n_test is not None:
        x = x[:n_test]
    model = VAE(latent_dim=latent_dim, seed=0)
    if state:
        model.load_state_dict(torch.load(state, weights_only=True))
    model.eval()
    fn = log_marginal_is if mode == "chunked" else naive_log_marginal
    fn(model, x, 1)  # warm-up: lazy initialisation, allocator
    # The peak RSS so far (imports, data loading) may exceed what the call needs: reset it
    # (Linux), so that peak - current RSS before the call is the call's own extra memory.
    reset = _reset_peak()
    before = _status_mb("VmRSS") if reset else _peak_mb()
    start = time.perf_counter()
    cpu0 = time.process_time()
    values = fn(model, x, k)
    cpu = time.process_time() - cpu0
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM") if reset else _peak_mb()
    return {
        "k": k,
        "mode": mode,
        "n": x.shape[0],
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_growth_mb": max(0.0, peak - before),
        "peak_rss_mb": peak,
        "peak_was_reset": reset,
        "mean_nats": float(values.mean()),
    }


def measure(k: int, mode: str, n_test: int | None, state: str | None, latent_dim: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.estimator",
        "--k",
        str(k),
        "--mode",
        mode,
        "--latent-dim",
        str(latent_dim),
        "--threads",
        str(torch.get_num_threads()),  # the same thread count as the parent
    ]
    if n_test is not None:
        cmd += ["--n-test", str(n_test)]
    if state:
        cmd += ["--state", state]
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        # A fixed mmap threshold: glibc then returns every large freed block to the OS at
        # once, so the peak RSS is the peak of live memory, not of a grown heap.
        "MALLOC_MMAP_THRESHOLD_": "131072",
    }
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=root, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(
    ks_chunked: tuple[int, ...],
    ks_naive: tuple[int, ...],
    n_test: int | None,
    state: str | None,
    latent_dim: int,
    log=print,
) -> dict[str, Any]:
    rows = []
    for mode, ks in (("chunked", ks_chunked), ("naive", ks_naive)):
        for k in ks:
            row = measure(k, mode, n_test, state, latent_dim)
            log(
                f"  log_marginal_is {mode:7s} K={k:6d}: {row['seconds']:.2f} s, "
                f"peak +{row['peak_rss_growth_mb']:.0f} MB"
            )
            rows.append(row)
    n = rows[0]["n"]
    for row in rows:
        ref = next((r for r in rows if r["mode"] == "naive" and r["k"] == row["k"]), None)
        row["time_over_naive"] = row["seconds"] / ref["seconds"] if ref else None
        row["cpu_time_over_naive"] = row["cpu_seconds"] / ref["cpu_seconds"] if ref else None
        row["memory_over_naive"] = (
            row["peak_rss_growth_mb"] / max(ref["peak_rss_growth_mb"], 1e-9) if ref else None
        )
    # What one [K, N, D] float32 tensor alone takes: the naive method holds several.
    one_tensor = {str(k): 4 * k * n * 64 / 2**20 for k in (*ks_chunked, *ks_naive)}
    return {
        "config": {
            "n_test": n,
            "latent_dim": latent_dim,
            "trained_weights": bool(state),
            "max_elements_per_chunk": MAX_ELEMENTS,
            "chunk_samples": points_per_chunk(
                VAE(latent_dim=latent_dim), torch.zeros(n, 64), MAX_ELEMENTS
            ),
        },
        "rows": rows,
        "one_KxNxD_float32_tensor_mb": one_tensor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--mode", choices=("chunked", "naive"), required=True)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--state", default=None)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0)
    a = parser.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(json.dumps(worker(a.k, a.mode, a.n_test, a.state, a.latent_dim)))


if __name__ == "__main__":
    main()
