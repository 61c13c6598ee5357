"""Run the benchmarks: ``python -m benchmarks [--smoke] [--out DIR] [--only SECTION ...]``.

Prints a Markdown report and writes it to ``DIR/results.md`` with the raw numbers in
``DIR/results.json`` (default DIR: ``benchmarks/results``). ``--smoke`` uses tiny sizes, skips
the book build and runs in seconds; its numbers mean nothing, it checks that everything runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from benchmarks import _common, book, estimator, quality, training, widgets
from benchmarks.report import to_markdown

SECTIONS = ("training", "quality", "estimator", "book", "widgets")

FULL = {
    "training": {"epochs": 20, "repeats": 9, "eval_samples": 200},
    "quality": {
        "latent_dims": (2, 5, 10),
        "ks": (1, 100, 1000),
        "max_epochs": 200,
        "n_val": 135,
        "deq_draws": 10,
        "n_test": None,
    },
    "estimator": {"ks_chunked": (100, 1000, 10000), "ks_naive": (100, 1000), "n_test": None},
    "widgets": {"n_updates": 50},
}
SMOKE = {
    "training": {"epochs": 1, "repeats": 1, "eval_samples": 5, "n_train": 256},
    "quality": {
        "latent_dims": (2,),
        "ks": (1, 10),
        "max_epochs": 2,
        "n_val": 64,
        "deq_draws": 1,
        "n_test": 100,
        "n_train": 256,
    },
    "estimator": {"ks_chunked": (100,), "ks_naive": (100,), "n_test": 50},
    "widgets": {"n_updates": 5},
}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _finite(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become None (strict JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no book build")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads for the in-process sections (default 1; 0 = torch's "
        "default). The book build keeps the default, as `make book` does.",
    )
    parser.add_argument(
        "--book-one-thread",
        action="store_true",
        help="also time a third (cold) book build with OMP_NUM_THREADS=1 (adds ~2 min)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the sections of an existing DIR/results.json that this run does not redo",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    cfg = SMOKE if args.smoke else FULL
    results: dict[str, Any] = {
        "mode": "smoke" if args.smoke else "full",
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "environment": _common.environment(),
    }
    start, cpu_start = time.perf_counter(), _common.cpu_seconds_total()
    timing: dict[str, dict[str, float]] = {}
    vaes: dict = {}

    def section(i: int, name: str, fn) -> None:
        _log(f"[{i}/5] {name}")
        t0, c0 = time.perf_counter(), _common.cpu_seconds_total()
        results[name] = fn()
        timing[name] = {
            "seconds": time.perf_counter() - t0,
            "cpu_seconds": _common.cpu_seconds_total() - c0,
        }

    def run_quality() -> dict:
        res, models = quality.run(**cfg["quality"], log=_log)
        vaes.update(models)
        return res

    def run_estimator() -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            state, latent_dim = None, 2
            if vaes:  # time the estimator on a trained model when section 2 ran
                latent_dim = min(vaes)
                state = str(Path(tmp) / "vae.pt")
                torch.save(vaes[latent_dim].state_dict(), state)
            return estimator.run(**cfg["estimator"], state=state, latent_dim=latent_dim, log=_log)

    def run_book() -> dict:
        if args.smoke:
            return {"available": False, "reason": "skipped in --smoke mode"}
        return book.run(one_thread=args.book_one_thread, log=_log)

    plan = [
        ("training", lambda: training.run(**cfg["training"], log=_log)),
        ("quality", run_quality),
        ("estimator", run_estimator),
        ("book", run_book),
        ("widgets", lambda: widgets.run(**cfg["widgets"], smoke=args.smoke, log=_log)),
    ]
    for i, (name, fn) in enumerate(plan, start=1):
        if name in args.only:
            section(i, name, fn)
    results["section_timing"] = timing
    results["total_seconds"] = time.perf_counter() - start
    results["total_cpu_seconds"] = _common.cpu_seconds_total() - cpu_start
    old_path = args.out / "results.json"
    if args.merge and old_path.exists():
        old = json.loads(old_path.read_text("utf-8"))
        redone = {name: results["started"] for name in args.only}
        merged = {**old.get("merged_sections", {}), **redone}
        old_timing = old.get("section_timing", {})
        for name in SECTIONS:
            if name not in args.only and name in old:
                results[name] = old[name]
                timing.setdefault(name, old_timing.get(name, {}))
        results["merged_sections"] = merged
        results["first_started"] = old.get("first_started", old.get("started"))
    results = _finite(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    md = to_markdown(results)
    (args.out / "results.md").write_text(md, "utf-8")
    print(md)
    _log(f"wrote {args.out / 'results.md'} and results.json in {results['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
