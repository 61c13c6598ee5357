"""Section 2: held-out log-likelihood of the digits, in nats per image, under one likelihood.

Every number is a lower bound on (or an estimate of) log P(x) for the test images' COUNTS:

* Binomial and Categorical models (VAE decoders, independent pixels) give a probability mass of
  the counts. For a VAE it is the importance-sampled bound log p_K(x)
  (``vae.estimators.log_marginal_is``), a stochastic lower bound of log p(x) in expectation;
  K = 1 is the ELBO.
* Gaussian models (``vae.LinearGaussian``, a full-covariance Gaussian) give a density. They are
  fitted to and evaluated on uniformly dequantized counts x + u, u ~ U[0, 1)
  (``vae.data.dequantize``). Since P(x) = integral over the unit cube of the density of x + u,
  Jensen gives log P(x) >= E_u[log p(x + u)] (Theis et al. 2016), so a dequantized density is
  also a lower bound on log P(counts) in nats and the two families are on the same scale.
  The Gaussian-decoder VAE models the standardized dequantized counts (x + u - a) / b (training
  mean a, standard deviation b per pixel) and its bound is mapped back with the Jacobian,
  log p(x + u) = log p_Y(y) - sum_d log b_d (exact).

The goal: the best VAE beats every model without a latent variable at every M, most of all the
independent Categorical pixels; ``vae_vs_no_latent`` reports the margin with its paired standard
error (the same test images).

The VAEs are trained with ``vae.train.fit`` and early stopping: a validation split (the last
``n_val`` training images) picks the epoch with the best smoothed validation ELBO, then the
model is retrained from the same seed on the whole training split for that many epochs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.distributions import Binomial, Categorical, MultivariateNormal

from benchmarks._common import sem
from vae.data import MAX_COUNT, dequantize, load_digits
from vae.estimators import log_marginal_is
from vae.linear import LinearGaussian
from vae.model import VAE
from vae.train import fit


def _dequantized_mean(log_density, x: torch.Tensor, draws: int, seed: int) -> torch.Tensor:
    """E_u[log p(x + u)] per image, averaged over ``draws`` dequantizations: [N]."""
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([log_density(dequantize(x, generator=gen)) for _ in range(draws)]).mean(0)


def _smooth(xs: list[float], window: int) -> list[float]:
    out = []
    for i in range(len(xs)):
        lo = max(0, i - window + 1)
        out.append(sum(xs[lo : i + 1]) / (i + 1 - lo))
    return out


def train_vae(
    latent_dim: int,
    x_train: torch.Tensor,
    max_epochs: int,
    n_val: int,
    seed: int = 0,
    hidden: tuple[int, ...] = (128,),
    lr: float = 1e-3,
    likelihood: str = "binomial",
) -> tuple[VAE, dict[str, Any]]:
    """Early-stopped VAE: choose the epoch count on a validation split, retrain on all."""
    x_fit, x_val = x_train[:-n_val], x_train[-n_val:]
    probe = VAE(latent_dim=latent_dim, hidden=hidden, likelihood=likelihood, seed=seed)
    hist = fit(probe, x_fit, x_val, epochs=max_epochs, lr=lr, seed=seed, progress=False)
    smooth = _smooth(hist.test_elbo, window=10)
    best = max(range(len(smooth)), key=smooth.__getitem__) + 1
    model = VAE(latent_dim=latent_dim, hidden=hidden, likelihood=likelihood, seed=seed)
    h2 = fit(model, x_train, epochs=best, lr=lr, seed=seed, progress=False)
    model.cpu().eval()
    info = {
        "best_epoch": best,
        "max_epochs": max_epochs,
        "val_elbo_at_best": smooth[best - 1],
        "val_elbo_last": smooth[-1],
        "train_seconds": hist.seconds + h2.seconds,
    }
    return model, info


def _row(name: str, family: str, latent_dim: int | None, values: torch.Tensor, how: str) -> dict:
    return {
        "values": values.double(),
        "model": name,
        "family": family,
        "latent_dim": latent_dim,
        "nats_per_image": float(values.mean()),
        "sem": sem(values),
        "how": how,
    }


def run(
    latent_dims: tuple[int, ...],
    ks: tuple[int, ...],
    max_epochs: int,
    n_val: int,
    deq_draws: int,
    n_test: int | None = None,
    n_train: int | None = None,
    lr: float = 1e-3,
    likelihoods: tuple[str, ...] = ("binomial", "categorical", "gaussian"),
    log=print,
) -> tuple[dict[str, Any], dict[int, VAE]]:
    """Score every model on the test digits; return the results and the Binomial VAEs by M."""
    x_train = load_digits("train", dtype=torch.float64)[:n_train]
    x_test = load_digits("test", dtype=torch.float64)
    if n_test is not None:
        x_test = x_test[:n_test]
    x_train32, x_test32 = x_train.float(), x_test.float()
    rows: list[dict] = []
    vaes: dict[int, VAE] = {}
    training: dict[int, dict] = {}

    # No latent variable: independent pixels (exact log-mass of the counts).
    n = x_train.shape[0]
    p = (x_train.sum(0) + 1.0) / (MAX_COUNT * n + 2.0)  # ML with add-one smoothing
    values = Binomial(MAX_COUNT, probs=p).log_prob(x_test).sum(-1)
    rows.append(
        _row(
            "independent Binomial(16) per pixel",
            "no latent, mass",
            None,
            values,
            "exact log P(counts); p_d = (sum x_d + 1) / (16 N + 2)",
        )
    )
    counts = torch.nn.functional.one_hot(x_train.long(), MAX_COUNT + 1).sum(0).double() + 1.0
    cat = Categorical(probs=counts / counts.sum(-1, keepdim=True))  # [D, 17], add-one smoothing
    values = cat.log_prob(x_test.long()).sum(-1)
    rows.append(
        _row(
            "independent Categorical(17) per pixel",
            "no latent, mass",
            None,
            values,
            "exact log P(counts); add-one smoothed histograms",
        )
    )

    # No latent variable: full-covariance Gaussian on dequantized data.
    deq_train = dequantize(x_train, generator=torch.Generator().manual_seed(0))
    mean = deq_train.mean(0)
    cov = (deq_train - mean).T @ (deq_train - mean) / n
    full = MultivariateNormal(mean, covariance_matrix=cov)
    values = _dequantized_mean(full.log_prob, x_test, deq_draws, seed=1)
    rows.append(
        _row(
            "full-covariance Gaussian",
            "no latent, density",
            None,
            values,
            f"E_u log N(x+u; ML mean, ML cov), fitted on x+u; {deq_draws} draws of u",
        )
    )

    for m in latent_dims:
        lin = LinearGaussian.max_likelihood(deq_train, m)
        values = _dequantized_mean(lin.log_marginal, x_test, deq_draws, seed=1)
        rows.append(
            _row(
                f"linear-Gaussian (PPCA), M={m}",
                "linear, density",
                m,
                values,
                f"exact E_u log p(x+u), closed-form ML fit on x+u; {deq_draws} draws",
            )
        )
        for likelihood in likelihoods:
            gaussian = likelihood == "gaussian"
            data, evaluate, shift = x_train32, x_test32, 0.0
            if gaussian:  # standardized dequantized counts; the Jacobian maps the bound back
                a, b = deq_train.mean(0), deq_train.std(0)
                data = ((deq_train - a) / b).float()
                shift = -float(b.log().sum())
            model, info = train_vae(m, data, max_epochs, n_val, lr=lr, likelihood=likelihood)
            training[f"{likelihood} {m}"] = info
            if likelihood == "binomial":
                vaes[m] = model
            log(
                f"  VAE {likelihood} M={m}: best epoch {info['best_epoch']}/{max_epochs}, "
                f"{info['train_seconds']:.1f} s"
            )
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                for k in ks:
                    if gaussian:

                        def log_density(u, model=model, a=a, b=b, k=k):
                            y = ((u - a) / b).float()
                            return log_marginal_is(model, y, k).double()

                        values = _dequantized_mean(log_density, x_test, deq_draws, seed=1) + shift
                    else:
                        values = log_marginal_is(model, evaluate, k).double()
                    label = "ELBO" if k == 1 else "IS bound"
                    how = f"{label} log p_K(x), K={k}, {likelihood} decoder"
                    if gaussian:
                        how += f", on standardized x+u (+ log Jacobian); {deq_draws} draws"
                    row = _row(
                        f"VAE, {likelihood} decoder, M={m}, K={k}",
                        "nonlinear, density" if gaussian else "nonlinear, mass",
                        m,
                        values,
                        how,
                    )
                    rows.append({**row, "training": f"{likelihood} {m}"})
    verdicts, versus_no_latent = {}, {}
    no_latent = [r for r in rows if r["family"].startswith("no latent")]
    for m in latent_dims:
        lin = next(r for r in rows if r["model"] == f"linear-Gaussian (PPCA), M={m}")
        best_vae = max(
            (r for r in rows if r["family"].startswith("nonlinear") and r["latent_dim"] == m),
            key=lambda r: r["nats_per_image"],
        )
        verdicts[m] = {
            "vae_best_bound": best_vae["nats_per_image"],
            "vae_best_model": best_vae["model"],
            "training": best_vae["training"],
            "linear": lin["nats_per_image"],
            "vae_minus_linear": best_vae["nats_per_image"] - lin["nats_per_image"],
            "vae_beats_linear": best_vae["nats_per_image"] > lin["nats_per_image"],
        }
        margins = {}
        for r in no_latent:
            diff = best_vae["values"] - r["values"]  # paired: the same test images
            margins[r["model"]] = {"margin": float(diff.mean()), "sem": sem(diff)}
        worst = min(margins, key=lambda name: margins[name]["margin"])
        versus_no_latent[m] = {
            "vae_best_model": best_vae["model"],
            "vae_best_bound": best_vae["nats_per_image"],
            "strongest_no_latent": worst,
            "margin": margins[worst]["margin"],
            "margin_sem": margins[worst]["sem"],
            "beats_every_no_latent": all(v["margin"] > 0 for v in margins.values()),
            "margins": margins,
        }
    for r in rows:
        del r["values"]
    result = {
        "config": {
            "latent_dims": list(latent_dims),
            "ks": list(ks),
            "max_epochs": max_epochs,
            "lr": lr,
            "n_val": n_val,
            "n_train": x_train.shape[0],
            "n_test": x_test.shape[0],
            "dequantization_draws": deq_draws,
            "likelihoods": list(likelihoods),
        },
        "rows": rows,
        "vae_training": {str(k): v for k, v in training.items()},
        "vae_vs_linear": {str(k): v for k, v in verdicts.items()},
        "vae_vs_no_latent": {str(k): v for k, v in versus_no_latent.items()},
        "note": "All numbers: nats per test image, lower bounds on log P(counts); higher is "
        "better. Densities are of dequantized counts x+u (Theis et al. 2016).",
    }
    return result, vaes
