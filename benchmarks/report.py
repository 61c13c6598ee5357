"""The Markdown report of a benchmark run (the JSON holds the same numbers, unrounded)."""

from __future__ import annotations

from typing import Any


def _f(v: Any, fmt: str = ".2f") -> str:
    return "n/a" if v is None else format(v, fmt)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _training(t: dict) -> list[str]:
    c = t["config"]
    out = [
        "## 1. Training speed (same model, data, batch size, epochs, seeds)",
        "",
        f"VAE latent_dim {c['latent_dim']}, hidden {tuple(c['hidden'])}, Binomial(16) decoder; "
        f"{c['n_train']} training digits, batch {c['batch_size']}, Adam lr {c['lr']}, "
        f"{c['epochs']} epochs; median wall time of {c['repeats']} interleaved rounds (seeds "
        f"0..{c['repeats'] - 1}); speeds: the median over the rounds of each round's ratio; "
        f"device {c['device']}, {c['torch_threads']} torch threads. "
        f"Held-out ELBO: the same `model.elbo(x_test, n_samples={c['eval_n_samples']})` for all, "
        "mean ± sd over the seeds.",
        "",
    ]
    names = {
        "ours": "`vae.train.fit`",
        "plain": "lean plain loop (the reference)",
        "dataloader": "PyTorch-examples loop (DataLoader)",
        "pyro": "Pyro SVI",
        "ours_default_threads": f"`vae.train.fit`, torch's default {t.get('default_threads')} "
        "threads (extra)",
    }
    rows = []
    for key, r in t["rows"].items():
        rows.append(
            [
                names.get(key, key),
                _f(r["seconds_median"]),
                _f(r["images_per_s"], ".0f"),
                _f(r["speed_ours_over_this"]) + "×",
                _f(r["cpu_seconds_median"]),
                _f(r["cpu_speed_ours_over_this"]) + "×",
                f"{r['held_out_elbo_mean']:.2f} ± {r['held_out_elbo_sd']:.2f}",
            ]
        )
    out += _table(
        [
            "implementation",
            "median wall s",
            "images/s",
            "speed of ours ÷ this",
            "median CPU s",
            "by CPU time",
            "held-out ELBO (nats/image)",
        ],
        rows,
    )
    rs = t["rows"]
    goals = [
        f"- ours ≥ 1.0× the lean plain loop: {_f(rs['plain']['speed_ours_over_this'])}× "
        f"({_mark(rs['plain']['speed_ours_over_this'] >= 1.0)})"
    ]
    if "pyro" in rs:
        goals.append(
            f"- ours ≥ 3× Pyro: {_f(rs['pyro']['speed_ours_over_this'])}× "
            f"({_mark(rs['pyro']['speed_ours_over_this'] >= 3.0)})"
        )
    for s in t.get("skipped", []):
        goals.append(f"- skipped: {s}")
    goals.append(
        "- held-out ELBOs agree within the seed-to-seed spread (3 standard errors, at "
        f"least 1 nat): {'yes' if t['elbo_spread_ok'] else 'NO'}"
    )
    return out + goals + [""]


def _quality(q: dict) -> list[str]:
    c = q["config"]
    out = [
        "## 2. Model quality on held-out digits (nats per image, higher is better)",
        "",
        f"{c['n_test']} test digits. Every number is a lower bound on (or estimate of) "
        "log P(counts) of a test image: Binomial and Categorical models give the probability "
        "mass of the counts; Gaussian models are fitted to and evaluated on dequantized "
        "counts x+u, u ~ U[0,1), whose density lower-bounds log P(counts) (Theis et al. 2016); "
        f"averaged over {c['dequantization_draws']} draws of u (the Gaussian-decoder VAE "
        "models standardized x+u; its bound is mapped back with the exact Jacobian). "
        "VAEs: early stopping on the "
        f"last {c['n_val']} training images (≤ {c['max_epochs']} epochs), then retrained on "
        f"all {c['n_train']}; K=1 is the ELBO, K>1 the importance-sampled bound.",
        "",
    ]
    rows = [[r["model"], _f(r["nats_per_image"]), _f(r["sem"]), r["how"]] for r in q["rows"]]
    out += _table(["model", "nats/image", "± s.e.", "how"], rows)
    rows = []
    for m, v in q["vae_vs_linear"].items():
        tr = q["vae_training"][v.get("training", m)]
        rows.append(
            [
                m,
                _f(v["vae_best_bound"]),
                _f(v["linear"]),
                _f(v["vae_minus_linear"]),
                "yes" if v["vae_beats_linear"] else "NO",
                f"{tr['best_epoch']}/{tr['max_epochs']}",
            ]
        )
    out += _table(
        [
            "M",
            "VAE (best bound)",
            "linear-Gaussian",
            "VAE − linear",
            "VAE beats linear",
            "VAE epochs (early stop)",
        ],
        rows,
    )
    if "vae_vs_no_latent" in q:
        rows = [
            [
                m,
                v["vae_best_model"],
                _f(v["vae_best_bound"]),
                v["strongest_no_latent"],
                f"{_f(v['margin'])} ± {_f(v['margin_sem'])}",
                "yes" if v["beats_every_no_latent"] else "NO",
            ]
            for m, v in q["vae_vs_no_latent"].items()
        ]
        out += [
            "Goal: the best VAE beats every model without a latent variable at every M. "
            "Margin: mean over the test images of the paired difference to the strongest "
            "no-latent model, ± its standard error.",
            "",
        ]
        out += _table(
            [
                "M",
                "best VAE",
                "nats/image",
                "strongest model without z",
                "margin (nats/image)",
                "beats every model without z",
            ],
            rows,
        )
    return out


def _estimator(e: dict) -> list[str]:
    c = e["config"]
    out = [
        "## 3. Cost of `log_marginal_is` (importance-sampled bound)",
        "",
        f"{c['n_test']} test digits, VAE latent_dim {c['latent_dim']} "
        f"({'trained' if c['trained_weights'] else 'untrained'} weights); chunks of "
        f"{c['chunk_samples']} samples ({c['max_elements_per_chunk']:,} numbers). One subprocess "
        "per row; memory = growth of the peak RSS during the call. `naive` (the reference) "
        "holds all K samples at once.",
        "",
    ]
    rows = [
        [
            r["mode"],
            str(r["k"]),
            _f(r["seconds"]),
            _f(r["cpu_seconds"]),
            _f(r["peak_rss_growth_mb"], ".0f"),
            _f(r["time_over_naive"]),
            _f(r.get("cpu_time_over_naive")),
            _f(r["memory_over_naive"]),
            _f(r["mean_nats"]),
        ]
        for r in e["rows"]
    ]
    return out + _table(
        [
            "method",
            "K",
            "wall s",
            "CPU s",
            "peak memory +MB",
            "wall time ÷ naive",
            "CPU time ÷ naive",
            "memory ÷ naive",
            "mean log p_K (nats)",
        ],
        rows,
    )


def _book(b: dict) -> list[str]:
    out = ["## 4. The book", ""]
    if not b.get("available"):
        return out + [f"Not measured: {b.get('reason')}", ""]
    g = b["goal"]
    out += _table(
        ["build", "seconds", "goal", "exit code"],
        [
            [
                "cold (empty `_build`, every chapter executes)",
                _f(b["cold_seconds"], ".1f"),
                f"≤ {g['cold_seconds']} s ({_mark(b['cold_seconds'] <= g['cold_seconds'])})",
                str(b["cold_exit_code"]),
            ],
            [
                "warm (no change, cache hits)",
                _f(b["warm_seconds"], ".1f"),
                f"≤ {g['warm_seconds']} s ({_mark(b['warm_seconds'] <= g['warm_seconds'])})",
                str(b["warm_exit_code"]),
            ],
        ],
    )
    if b.get("cold_one_thread_seconds") is not None:
        one = b["cold_one_thread_seconds"]
        out[-1:-1] = [
            f"| cold again, `OMP_NUM_THREADS=1` (one torch thread per kernel) | {one:.1f} | "
            f"≤ {g['cold_seconds']} s ({_mark(one <= g['cold_seconds'])}) | "
            f"{b['cold_one_thread_exit_code']} |"
        ]
    ch = b.get("chapter_execution_seconds") or {}
    ch1 = b.get("chapter_execution_seconds_one_thread") or {}
    alone = b.get("chapter_alone_seconds") or {}
    if ch:
        limit = g.get("chapter_seconds", 20)
        worst = max((v for v in alone.values() if v is not None), default=float("nan"))
        out += [
            f"Execution time of each chapter, goal ≤ {limit} s each alone in a fresh kernel "
            f"({_mark(worst <= limit)}); during the cold build (jupyter-cache, two chapters at "
            "a time, models shared through the fit cache) for comparison:",
            "",
        ]
        out += _table(
            ["notebook", "alone, fresh kernel", "in the build", "in the build, OMP_NUM_THREADS=1"],
            [
                [k, _f(alone.get(k), ".1f"), _f(v, ".1f"), _f(ch1.get(k), ".1f")]
                for k, v in ch.items()
            ],
        )
    if b.get("log_tail"):
        out += ["Build log (tail):", "", "```", b["log_tail"], "```", ""]
    return out


def _widgets(w: dict) -> list[str]:
    out = ["## 5. Widgets (kernel-side update latency)", ""]
    if not w.get("available"):
        return out + [f"Not available: {w.get('reason')}", ""]
    rows = []
    for name, r in w["rows"].items():
        if "error" in r:
            rows.append([name, "error", "", "", r["error"]])
        else:
            rows.append(
                [
                    name,
                    _f(r["build_seconds"], ".1f"),
                    _f(r["median_ms"]),
                    _f(r["max_ms"]),
                    str(r["n_updates"]),
                ]
            )
    return out + _table(["widget", "build s", "median ms", "max ms", "updates"], rows)


def to_markdown(res: dict) -> str:
    env = res["environment"]
    timing = res.get("section_timing", {})
    wall = sum(t.get("seconds", 0) for t in timing.values())
    cpu = sum(t.get("cpu_seconds", 0) for t in timing.values())
    out = [
        "# Benchmark results",
        "",
        f"Run {res.get('first_started') or res['started']} ({res['mode']} mode), "
        f"{wall:.0f} s in all ({cpu:.0f} CPU s) on device `{env['device']}`, "
        f"{env['cpu_count']} CPUs, {env['torch_threads']} torch thread(s) (PyTorch's default: "
        f"{env.get('torch_default_threads')}), torch {env['torch']}, Python {env['python']}; "
        "load average at start "
        f"{env['load_average_at_start']}.",
        "",
        "Timings on a shared machine are noisy: compare the ratios, which are measured against "
        "a reference timed in the same run (interleaved), rather than absolute seconds.",
        "",
    ]
    if res.get("merged_sections"):
        out += [
            "Sections re-run (merged into an earlier run started "
            f"{res.get('first_started')}): "
            + ", ".join(f"{k} at {v}" for k, v in res["merged_sections"].items())
            + ".",
            "",
        ]
    timing = res.get("section_timing", {})
    if timing:
        out += [
            "Time per section: "
            + ", ".join(
                f"{k} {v['seconds']:.0f} s ({v['cpu_seconds']:.0f} CPU s)"
                for k, v in timing.items()
                if v
            )
            + ".",
            "",
        ]
    if res["mode"] == "smoke":
        out += [
            "**Smoke mode: tiny sizes; these numbers check that the code runs, nothing more.**",
            "",
        ]
    for key, fn in (
        ("training", _training),
        ("quality", _quality),
        ("estimator", _estimator),
        ("book", _book),
        ("widgets", _widgets),
    ):
        if key in res:
            out += fn(res[key])
    return "\n".join(out)
