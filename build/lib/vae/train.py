"""Training: minibatch Adam on the negative ELBO, seeded and repeatable.

The data sit in memory as one tensor, so minibatches are index slices of a seeded permutation
(no DataLoader). The data are checked once; every step then calls the public
``model.elbo(xb, check=False)``. On CPU two runs with the same seed give bit-for-bit identical
histories.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor
from torch.distributions import Independent, Normal, kl_divergence
from torch.optim.adam import adam

from vae import cache
from vae._checks import check_positive_int
from vae.model import VAE


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _free_bits_objective(
    model: VAE, xb: Tensor, n_samples: int, kl_weight: float, free_bits: float
) -> tuple[Tensor, Tensor]:
    """The per-image ELBO [B] and the free-bits objective (a scalar) of a minibatch."""
    q = model.encoder(xb, validate_args=False)
    if not (isinstance(q, Independent) and isinstance(q.base_dist, Normal)):
        raise ValueError("free_bits needs a diagonal Gaussian encoder")
    out = model.elbo(xb, n_samples, q=q, check=False)
    prior = Normal(torch.zeros_like(q.mean), torch.ones_like(q.mean), validate_args=False)
    kl_dims = kl_divergence(q.base_dist, prior).mean(0)  # [M], minibatch average
    return out.elbo, out.log_likelihood.mean() - kl_weight * kl_dims.clamp_min(free_bits).sum()


class FusedAdam:
    """``torch.optim.Adam(params, lr, fused=True)`` with its default settings, in a few lines.

    ``step`` calls the same update, ``torch.optim.adam.adam`` with the fused kernel, so the
    parameters follow torch's optimizer bit for bit (tested). Workaround: the first
    ``torch.optim.Optimizer`` built in a process imports ``torch._dynamo`` (about 1.5 s; torch
    2.13, no release without it yet), which every chapter that trains would otherwise pay.
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]  # first moments
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]  # second moments
        self.steps = [torch.zeros((), device=p.device, dtype=torch.float32) for p in self.params]

    def step(self) -> None:
        """One Adam step on the parameters that have a gradient (betas 0.9, 0.999, eps 1e-8)."""
        live = [i for i, p in enumerate(self.params) if p.grad is not None]  # as torch skips

        def pick(tensors: list[Tensor]) -> list[Tensor]:
            return [tensors[i] for i in live]

        adam(
            pick(self.params),
            [self.params[i].grad for i in live],
            pick(self.exp_avgs),
            pick(self.exp_avg_sqs),
            [],  # max_exp_avg_sqs: only for amsgrad
            pick(self.steps),
            fused=True,
            amsgrad=False,
            beta1=0.9,
            beta2=0.999,
            lr=self.lr,
            weight_decay=0.0,
            eps=1e-8,
            maximize=False,
        )


@dataclass
class History:
    """Per-epoch mean ELBO per image, in nats (one entry per epoch)."""

    train_elbo: list[float] = field(default_factory=list)
    """Average of the minibatch ELBO estimates seen during the epoch."""
    test_elbo: list[float] = field(default_factory=list)
    """Held-out ELBO after the epoch (empty if no test data were given)."""
    seconds: float = 0.0
    """Wall-clock time of the whole run."""


def fit(
    model: VAE,
    x_train: Tensor,
    x_test: Tensor | None = None,
    epochs: int = 100,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    n_samples: int = 1,
    progress: bool = True,
    device: str | torch.device | None = None,
    beta: float = 1.0,
    kl_warmup: int = 0,
    free_bits: float = 0.0,
) -> History:
    """Maximize the ELBO of ``model`` on ``x_train`` [N, D] by minibatch Adam; return the history.

    Each step uses the single-sample (``n_samples=1``) reparameterized ELBO of a minibatch. The
    model trains on ``device`` (default: :func:`default_device`, so CUDA when present, e.g. on
    Colab) and is then moved back to the device it came on, so code that follows keeps working
    with CPU tensors; results agree across devices up to floating-point rounding.

    ``progress`` prints the epoch and its training ELBO on one line, rewritten each epoch.

    Where the environment variable ``VAE_FIT_CACHE`` names a folder (the book build sets it),
    a run whose model, data and settings were trained before loads the stored result instead
    of training again (:mod:`vae.cache`); elsewhere ``fit`` always trains.

    ``beta`` weights the KL term: each step maximizes E_q[log p(x|z)] - beta * KL(q || p(z))
    (Higgins et al. 2017), the ELBO at ``beta=1``; the history still records the ELBO itself.

    Two remedies for posterior collapse change the objective in the same way (the history
    still records the ELBO): ``kl_warmup`` epochs of *KL annealing* (Bowman et al. 2016), in
    which the KL weight rises linearly from 0 to ``beta``, step by step; and ``free_bits`` nats
    per latent coordinate (Kingma et al. 2016): the minibatch-averaged KL of coordinate j enters
    as max(free_bits, KL_j), so no coordinate is pushed below that much information.
    ``free_bits`` needs a diagonal Gaussian encoder.
    """
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    check_positive_int(n_samples, "n_samples")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    if not (isinstance(kl_warmup, int) and kl_warmup >= 0):
        raise ValueError(f"kl_warmup must be a non-negative int (epochs), got {kl_warmup!r}")
    if not free_bits >= 0:
        raise ValueError(f"free_bits must be >= 0 nats, got {free_bits!r}")
    # The data are checked here, once; each step then calls model.elbo(..., check=False).
    model.check_input(x_train)
    if x_test is not None:
        model.check_input(x_test)
    device = torch.device(device) if device is not None else default_device()
    record = None
    if cache.cache_dir() is not None:  # only where $VAE_FIT_CACHE is set (the book build)
        settings = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, beta=beta)
        settings |= dict(n_samples=n_samples, kl_warmup=kl_warmup, free_bits=free_bits)
        data = {"x_train": x_train, "x_test": x_test, "device": device.type}
        record = cache.cache_dir() / f"{cache.key(model, data, settings)}.pt"
        if (hit := cache.load(record, model)) is not None:
            return History(**hit)
    home = next(model.parameters()).device
    model.to(device)
    x_train = x_train.to(device)
    x_test = x_test.to(device) if x_test is not None else None
    opt = FusedAdam(model.parameters(), lr=lr)  # torch.optim.Adam's fused update
    history = History()
    n = x_train.shape[0]
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        warmup_steps = kl_warmup * -(-n // batch_size)
        step = 0
        for epoch in range(epochs):
            model.train()
            shuffled = x_train[torch.randperm(n, generator=gen).to(device)]
            total = torch.zeros((), device=device)
            for i in range(0, n, batch_size):
                xb = shuffled[i : i + batch_size]
                step += 1
                kl_weight = beta * min(1.0, step / warmup_steps) if warmup_steps else beta
                if free_bits > 0:
                    elbo, objective = _free_bits_objective(
                        model, xb, n_samples, kl_weight, free_bits
                    )
                else:
                    out = model.elbo(xb, n_samples, check=False)  # x_train checked above
                    elbo = out.elbo
                    weighted = out.log_likelihood - kl_weight * out.kl if kl_weight != 1 else elbo
                    objective = weighted.mean()
                model.zero_grad(set_to_none=True)  # (the optimizer's own adds a profiler span)
                (-objective).backward()
                opt.step()
                total += elbo.detach().sum()
            history.train_elbo.append(total.item() / n)
            if x_test is not None:
                model.eval()
                with torch.no_grad():
                    test = model.elbo(x_test, check=False).elbo.mean().item()
                history.test_elbo.append(test)
            if progress:
                print(f"\repoch {epoch + 1}/{epochs}: ELBO {history.train_elbo[-1]:.2f}", end="")
    if progress:
        print()
    history.seconds = time.perf_counter() - start
    model.to(home)
    if record is not None:
        cache.save(record, model, asdict(history))
    return history
