"""`python -m benchmarks --smoke` runs and writes a well-formed report (no timing is asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "results.json").is_file() and (out / "results.md").is_file()
    return json.loads((out / "results.json").read_text()), (out / "results.md").read_text()


def _finite(*values: object) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def test_training_section(smoke: tuple[dict, str]) -> None:
    res, _ = smoke
    rows = res["training"]["rows"]
    assert {"ours", "plain"} <= set(rows)
    pyro_missing = any("pyro" in s for s in res["training"]["skipped"])
    assert ("pyro" in rows) != pyro_missing  # either measured or reported as skipped
    for row in rows.values():
        assert _finite(row["seconds_median"], row["images_per_s"], row["held_out_elbo_mean"])
        assert row["images_per_s"] > 0 and row["held_out_elbo_mean"] < 0
    assert rows["ours"]["speed_ours_over_this"] == pytest.approx(1.0)


def test_quality_section(smoke: tuple[dict, str]) -> None:
    res, _ = smoke
    q = res["quality"]
    families = {r["family"] for r in q["rows"]}
    assert {"no latent, mass", "no latent, density", "linear, density", "nonlinear, mass"} <= (
        families
    )
    for r in q["rows"]:
        assert _finite(r["nats_per_image"], r["sem"]) and r["how"]
    for v in q["vae_vs_linear"].values():
        assert isinstance(v["vae_beats_linear"], bool) and _finite(v["vae_minus_linear"])
    assert {"binomial", "categorical", "gaussian"} <= {
        r["model"].split(" decoder")[0].split(", ")[-1] for r in q["rows"] if r["latent_dim"]
    }
    for v in q["vae_vs_no_latent"].values():
        assert isinstance(v["beats_every_no_latent"], bool)
        assert _finite(v["margin"], v["margin_sem"]) and v["strongest_no_latent"]


def test_estimator_section(smoke: tuple[dict, str]) -> None:
    res, _ = smoke
    rows = res["estimator"]["rows"]
    assert {r["mode"] for r in rows} == {"chunked", "naive"}
    for r in rows:
        assert _finite(r["seconds"], r["peak_rss_growth_mb"], r["mean_nats"])
        assert r["seconds"] > 0 and r["peak_rss_growth_mb"] >= 0


def test_book_and_widget_sections(smoke: tuple[dict, str]) -> None:
    res, _ = smoke
    assert res["book"]["available"] is False  # skipped in smoke mode
    w = res["widgets"]
    assert w["available"] and w["rows"]
    for r in w["rows"].values():
        assert _finite(r["median_ms"], r["max_ms"]) and 0 <= r["median_ms"] <= r["max_ms"]
        assert r["n_updates"] == w["n_updates"]


def test_markdown_report(smoke: tuple[dict, str]) -> None:
    res, md = smoke
    for title in (
        "# Benchmark results",
        "## 1. Training speed",
        "## 2. Model quality",
        "## 3. Cost of",
        "## 4. The book",
        "## 5. Widgets",
    ):
        assert title in md
    assert res["environment"]["device"] in md
