"""Section 1: training speed of ``vae.train.fit`` against a plain PyTorch loop and Pyro.

All three train the same network (``vae.VAE``: MLP encoder and decoder, Binomial(16) decoder,
latent_dim 2, hidden (128,)), built from the same seed, on the same data (the digits train
split) with the same batch size, number of epochs and Adam learning rate, on the same device.

* ``ours``: ``vae.train.fit(model, x_train, epochs=..., progress=False)`` -- no ``x_test``, so
  no per-epoch held-out evaluation is timed (like for like).
* ``plain``: the leanest correct loop, the reference: minibatches sliced from one shuffled
  index tensor (no DataLoader), the loss written out as tensor expressions (the Binomial(16)
  log-pmf from logits, lgamma terms included, and the analytic Gaussian KL), averaged over the
  batch as ``fit`` does, ``loss.backward()`` and ``optimizer.step()`` with torch's default Adam.
  It calls the model's own ``nn`` modules (``model.encoder.net``, ``model.decoder.net``).
* ``dataloader``: the loop of the PyTorch examples' ``vae/main.py``: the same loss, summed
  over the batch, with a ``DataLoader`` over a ``TensorDataset`` and ``loss.item()``
  accumulated per batch.
* ``pyro``: ``pyro.infer.SVI`` with ``Trace_ELBO`` (Monte Carlo KL), a model and a guide that
  wrap the identical encoder and decoder nets with ``pyro.module``, a ``DataLoader`` as in
  Pyro's VAE example.

Timings are the median of ``repeats`` runs, interleaved (ours, plain, pyro, ours, ...) so that
a slow patch of a shared machine hits all three alike. Repeat r uses seed r for the weights and
the data order, so the spread of the held-out ELBO over repeats is the training noise against
which the three implementations are compared. Every trained model is evaluated with the same
``model.elbo(x_test, n_samples=...)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from benchmarks._common import mean_sd, median, timed_cpu
from vae.data import load_digits
from vae.model import VAE
from vae.train import default_device, fit

LATENT_DIM = 2
HIDDEN = (128,)
BATCH_SIZE = 128
LR = 1e-3


def _loader(x: torch.Tensor, seed: int) -> DataLoader:
    """The examples-style DataLoader both reference loops use: shuffled, seeded minibatches."""
    return DataLoader(
        TensorDataset(x),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )


def _new_model(seed: int) -> VAE:
    return VAE(latent_dim=LATENT_DIM, hidden=HIDDEN, seed=seed)


def train_ours(x: torch.Tensor, epochs: int, seed: int, device: torch.device) -> VAE:
    model = _new_model(seed)
    fit(
        model,
        x,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        lr=LR,
        seed=seed,
        progress=False,
        device=device,
    )
    return model


def _neg_elbo(enc: torch.nn.Module, dec: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The negative ELBO of each image of ``x`` [B, 64], one sample of z: [B] (nats)."""
    n = 16  # Binomial(16) pixels
    mu, log_sigma = enc(x).chunk(2, dim=-1)
    z = mu + torch.randn_like(mu) * log_sigma.exp()
    logits = dec(z)
    log_binom = math.lgamma(n + 1) - torch.lgamma(x + 1) - torch.lgamma(n - x + 1)
    log_lik = (log_binom + x * logits - n * F.softplus(logits)).sum(-1)
    kl = 0.5 * (mu.pow(2) + (2 * log_sigma).exp() - 1 - 2 * log_sigma).sum(-1)
    return kl - log_lik


def train_plain(x: torch.Tensor, epochs: int, seed: int, device: torch.device) -> VAE:
    """The lean loop: index slices of one permutation per epoch, default Adam."""
    model = _new_model(seed).to(device)
    enc, dec = model.encoder.net, model.decoder.net
    x = x.to(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen).to(device)
        for i in range(0, len(x), BATCH_SIZE):
            loss = _neg_elbo(enc, dec, x[perm[i : i + BATCH_SIZE]]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def train_dataloader(x: torch.Tensor, epochs: int, seed: int, device: torch.device) -> VAE:
    """The PyTorch-examples loop (vae/main.py), with the Binomial(16) likelihood."""
    model = _new_model(seed).to(device)
    enc, dec = model.encoder.net, model.decoder.net
    torch.manual_seed(seed)
    loader = _loader(x, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(epochs):
        model.train()
        train_loss = 0.0
        for (data,) in loader:
            optimizer.zero_grad()
            loss = _neg_elbo(enc, dec, data.to(device)).sum()
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
    return model


def pyro_available() -> bool:
    try:
        import pyro  # noqa: F401
    except ImportError:
        return False
    return True


def train_pyro(x: torch.Tensor, epochs: int, seed: int, device: torch.device) -> VAE:
    """SVI with Trace_ELBO on a model/guide pair that wraps the same nets."""
    import pyro
    import pyro.distributions as dist
    from pyro.infer import SVI, Trace_ELBO
    from pyro.optim import Adam

    model = _new_model(seed).to(device)
    n_trials = model.decoder.total_count
    zero = torch.zeros(LATENT_DIM, device=device)

    def p_model(data: torch.Tensor) -> None:
        pyro.module("decoder", model.decoder)
        with pyro.plate("data", data.shape[0]):
            z = pyro.sample("z", dist.Normal(zero, 1.0).to_event(1))
            logits = model.decoder.net(z)
            pyro.sample("x", dist.Binomial(n_trials, logits=logits).to_event(1), obs=data)

    def guide(data: torch.Tensor) -> None:
        pyro.module("encoder", model.encoder)
        with pyro.plate("data", data.shape[0]):
            mu, log_sigma = model.encoder.net(data).chunk(2, dim=-1)
            pyro.sample("z", dist.Normal(mu, log_sigma.exp()).to_event(1))

    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    loader = _loader(x, seed)
    svi = SVI(p_model, guide, Adam({"lr": LR}), loss=Trace_ELBO())
    for _ in range(epochs):
        epoch_loss = 0.0
        for (data,) in loader:
            epoch_loss += svi.step(data.to(device))
    pyro.clear_param_store()
    return model


DEFAULT_THREADS = torch.get_num_threads()
"""PyTorch's own intra-op thread count, read at import (before ``--threads`` changes it)."""


def train_ours_default_threads(
    x: torch.Tensor, epochs: int, seed: int, device: torch.device
) -> VAE:
    """``vae.train.fit`` with PyTorch's default number of threads (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(DEFAULT_THREADS)
    try:
        return train_ours(x, epochs, seed, device)
    finally:
        torch.set_num_threads(threads)


TRAINERS = {
    "ours": train_ours,
    "plain": train_plain,
    "dataloader": train_dataloader,
    "pyro": train_pyro,
    "ours_default_threads": train_ours_default_threads,
}


@torch.no_grad()
def held_out_elbo(model: VAE, x_test: torch.Tensor, n_samples: int) -> float:
    """Mean over the test images of ``model.elbo(x, n_samples)``, in nats per image."""
    model = model.cpu().eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        return float(model.elbo(x_test, n_samples=n_samples).mean())


def run(
    epochs: int, repeats: int, eval_samples: int, n_train: int | None = None, log=print
) -> dict[str, Any]:
    device = default_device()
    x_train, x_test = load_digits("train")[:n_train], load_digits("test")
    names = ["ours", "plain", "dataloader"] + (["pyro"] if pyro_available() else [])
    if torch.get_num_threads() != DEFAULT_THREADS:
        names.append("ours_default_threads")
    seconds: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    elbos: dict[str, list[float]] = {k: [] for k in names}
    # Warm-up (first-call costs of each code path: allocator, lazy imports), not timed.
    for name in names:
        TRAINERS[name](x_train[:BATCH_SIZE], 1, 0, device)
    for r in range(repeats):
        for name in names:
            t, c, model = timed_cpu(
                lambda name=name, r=r: TRAINERS[name](x_train, epochs, r, device)
            )
            seconds[name].append(t)
            cpu[name].append(c)
            elbos[name].append(held_out_elbo(model, x_test, eval_samples))
            log(f"  training {name:5s} seed {r}: {t:6.2f} s, held-out ELBO {elbos[name][-1]:.2f}")
    images = epochs * x_train.shape[0]
    rows = {}
    for name in names:
        t = median(seconds[name])
        m, sd = mean_sd(elbos[name])
        rows[name] = {
            "seconds_median": t,
            "seconds_all": seconds[name],
            "cpu_seconds_median": median(cpu[name]),
            "cpu_seconds_all": cpu[name],
            "images_per_s": images / t,
            "held_out_elbo_mean": m,
            "held_out_elbo_sd": sd,
            "held_out_elbo_all": elbos[name],
        }
    # The ratio of each round (the runs of a round are interleaved, so they share its load),
    # then the median over the rounds.
    for name in names:
        wall = zip(seconds[name], seconds["ours"], strict=True)
        rows[name]["speed_ours_over_this"] = median([t / t_ours for t, t_ours in wall])
        used = zip(cpu[name], cpu["ours"], strict=True)
        rows[name]["cpu_speed_ours_over_this"] = median([c / c_ours for c, c_ours in used])
    missing = [] if "pyro" in names else ["pyro (pyro-ppl not importable: skipped)"]
    return {
        "config": {
            "latent_dim": LATENT_DIM,
            "hidden": list(HIDDEN),
            "batch_size": BATCH_SIZE,
            "lr": LR,
            "epochs": epochs,
            "repeats": repeats,
            "n_train": x_train.shape[0],
            "eval_n_samples": eval_samples,
            "device": str(device),
            "torch_threads": torch.get_num_threads(),
        },
        "rows": rows,
        "skipped": missing,
        "default_threads": DEFAULT_THREADS,
        "elbo_spread_ok": _agree(rows),
    }


def _agree(rows: dict[str, dict]) -> bool:
    """Whether all mean held-out ELBOs lie within 3 combined standard errors of ours (or 1 nat
    when a single repeat gives no spread)."""
    ref = rows["ours"]
    n = len(ref["held_out_elbo_all"])
    for row in rows.values():
        se = math.sqrt((ref["held_out_elbo_sd"] ** 2 + row["held_out_elbo_sd"] ** 2) / n)
        if abs(row["held_out_elbo_mean"] - ref["held_out_elbo_mean"]) > max(3 * se, 1.0):
            return False
    return True
