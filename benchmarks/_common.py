"""Small helpers shared by the benchmark sections: timing, statistics, environment."""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

_DEFAULT_THREADS = torch.get_num_threads()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn()`` once; return (wall-clock seconds, result)."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def timed_cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``fn()`` once; return (wall-clock seconds, CPU seconds of this process, result).

    CPU time (all threads) is less disturbed than wall time when other jobs share the machine.
    """
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - start, time.process_time() - cpu, out


def cpu_seconds_total() -> float:
    """CPU seconds used so far by this process and its finished children."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def mean_sd(xs: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    m = float(statistics.fmean(xs))
    return m, float(statistics.stdev(xs)) if len(xs) > 1 else 0.0


def sem(x: torch.Tensor) -> float:
    """Standard error of the mean of a 1-D tensor."""
    return float(x.std() / math.sqrt(x.numel())) if x.numel() > 1 else 0.0


def environment() -> dict[str, Any]:
    """What the numbers were measured on."""
    from vae.train import default_device

    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover - not on every platform
        load = (float("nan"),) * 3
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(default_device()),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_default_threads": _DEFAULT_THREADS,
        "platform": platform.platform(),
        "load_average_at_start": [round(v, 2) for v in load],
    }
