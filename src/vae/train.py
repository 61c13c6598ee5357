"""Training: minibatch Adam on the negative ELBO, seeded and repeatable.

The data sit in memory as tensors, so minibatches are index slices of a seeded permutation
(no DataLoader). The data are checked once; every step then runs inside
``vae.checks.disabled()``. On CPU two runs with the same seed give bit-for-bit identical
histories. :func:`fit` depends on its arguments alone (no environment variables, no files).
Its loop, :func:`maximize`, takes any minibatch objective;
:func:`vae.conditional.fit_conditional` runs it on images and labels.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.optim.adam import adam

from vae import checks
from vae.checks import check_positive_int
from vae.gaussian import is_diagonal, kl_per_coordinate
from vae.model import VAE


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@functools.cache
def fused_adam_available(device_type: str) -> bool:
    """Whether this torch has a fused Adam kernel for ``device_type`` (``"cpu"``, ``"cuda"``).

    Found by trying one fused step on a one-element tensor, once per device type: torch has
    the CPU kernel from 2.4 (pytorch/pytorch#123074), CUDA's from 2.0.
    """
    p = torch.zeros(1, device=device_type)
    state = [torch.zeros(1, device=device_type) for _ in range(3)]
    step = torch.zeros((), device=device_type, dtype=torch.float32)
    try:
        _adam_step([p], [state[0]], [state[1]], [state[2]], [step], lr=1e-3, fused=True)
    except (RuntimeError, NotImplementedError):
        return False
    return True


@torch.no_grad()  # as torch.optim.Adam.step: the update is not part of any graph
def _adam_step(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[Tensor],
    lr: float,
    fused: bool,
) -> None:
    """torch's Adam update (``torch.optim.adam.adam``) with its default settings."""
    adam(
        params,
        grads,
        exp_avgs,
        exp_avg_sqs,
        [],  # max_exp_avg_sqs: only for amsgrad
        steps,
        foreach=False,
        fused=fused,
        amsgrad=False,
        beta1=0.9,
        beta2=0.999,
        lr=lr,
        weight_decay=0.0,
        eps=1e-8,
        maximize=False,
    )


class FusedAdam:
    """``torch.optim.Adam(params, lr)`` with its default settings, in a few lines, fused where
    torch has the kernel.

    ``step`` calls the same update as torch's optimizer, ``torch.optim.adam.adam``, so the
    parameters follow ``torch.optim.Adam(params, lr, fused=fused)`` bit for bit (tested).
    ``fused=None`` uses the fused kernel where :func:`fused_adam_available` finds one for the
    parameters' device (CPU: torch >= 2.4), else torch's plain single-tensor update.
    Workaround: the first ``torch.optim.Optimizer`` built in a process imports ``torch._dynamo``
    (about 1.5 s; torch 2.13, no release without it yet), which every fresh process that trains
    would otherwise pay.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, fused: bool | None = None) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        if fused is None:
            fused = all(fused_adam_available(p.device.type) for p in self.params)
        self.fused = fused
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]  # first moments
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]  # second moments
        self.steps = [torch.zeros((), device=p.device, dtype=torch.float32) for p in self.params]

    def step(self) -> None:
        """One Adam step on the parameters that have a gradient (betas 0.9, 0.999, eps 1e-8)."""
        live = [i for i, p in enumerate(self.params) if p.grad is not None]  # as torch skips

        def pick(tensors: list[Tensor]) -> list[Tensor]:
            return [tensors[i] for i in live]

        grads = [g for g in (self.params[i].grad for i in live) if g is not None]
        _adam_step(
            pick(self.params),
            grads,
            pick(self.exp_avgs),
            pick(self.exp_avg_sqs),
            pick(self.steps),
            lr=self.lr,
            fused=self.fused,
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


@dataclass(frozen=True)
class Objective:
    """What each step maximizes: E_q[log p(x|z)] - w * KL(q || p(z)), with the KL weight w
    rising linearly from 0 to ``beta`` over ``warmup_steps`` steps (then ``beta``), and each
    latent coordinate's minibatch-averaged KL counted as at least ``free_bits`` nats."""

    n_samples: int = 1
    beta: float = 1.0
    warmup_steps: int = 0
    free_bits: float = 0.0

    def kl_weight(self, step: int) -> float:
        """w at step ``step`` (1-based)."""
        if self.warmup_steps:
            return self.beta * min(1.0, step / self.warmup_steps)
        return self.beta

    def __call__(self, model: VAE, xb: Tensor, step: int) -> tuple[Tensor, Tensor]:
        """The per-image ELBO [B] of a minibatch (for the history) and the objective (a scalar)."""
        weight = self.kl_weight(step)
        if self.free_bits > 0:
            q = model.encoder(xb)
            out = model.elbo_terms(xb, self.n_samples, q=q)
            kl_dims = kl_per_coordinate(q).mean(0)  # [M], minibatch average
            penalty = weight * kl_dims.clamp_min(self.free_bits).sum()
            return out.elbo, out.log_likelihood.mean() - penalty
        out = model.elbo_terms(xb, self.n_samples)
        weighted = out.log_likelihood - weight * out.kl if weight != 1 else out.elbo
        return out.elbo, weighted.mean()


def _check_loop_settings(epochs: int, batch_size: int, lr: float) -> None:
    """A ``ValueError`` naming the first bad setting of :func:`maximize`, if any."""
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")


def _check_settings(
    epochs: int,
    batch_size: int,
    lr: float,
    n_samples: int,
    beta: float,
    kl_warmup: int,
    free_bits: float,
) -> None:
    """A ``ValueError`` naming the first bad setting of :func:`fit`, if any."""
    _check_loop_settings(epochs, batch_size, lr)
    check_positive_int(n_samples, "n_samples")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    if not (isinstance(kl_warmup, int) and kl_warmup >= 0):
        raise ValueError(f"kl_warmup must be a non-negative int (epochs), got {kl_warmup!r}")
    if not free_bits >= 0:
        raise ValueError(f"free_bits must be >= 0 nats, got {free_bits!r}")


def _train_epoch(
    model: nn.Module,
    opt: FusedAdam,
    data: tuple[Tensor, ...],
    order: Tensor,
    batch_size: int,
    objective: Callable[[tuple[Tensor, ...], int], tuple[Tensor, Tensor]],
    step: int,
) -> tuple[float, int]:
    """One pass over ``data`` in the order ``order`` [N]; the epoch's mean ELBO (nats) and the
    last step."""
    model.train()
    shuffled = [t[order] for t in data]
    n = order.shape[0]
    total = torch.zeros((), device=order.device)
    for i in range(0, n, batch_size):
        step += 1
        elbo, value = objective(tuple(t[i : i + batch_size] for t in shuffled), step)
        model.zero_grad(set_to_none=True)  # (the optimizer's own adds a profiler span)
        (-value).backward()
        opt.step()
        total += elbo.detach().sum()
    return total.item() / n, step


def maximize(
    model: nn.Module,
    data: tuple[Tensor, ...],
    objective: Callable[[tuple[Tensor, ...], int], tuple[Tensor, Tensor]],
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    progress: bool = True,
    device: str | torch.device | None = None,
    evaluate: Callable[[], float] | None = None,
) -> History:
    """Maximize a minibatch objective over the parameters of ``model`` by Adam (in place); return
    the history of the ELBO per epoch, in nats. The loop of :func:`fit` and
    :func:`vae.conditional.fit_conditional`.

    ``data`` are the training tensors, each with one row per datapoint (e.g. images [N, D], or
    images [N, D] and labels [N]). Each epoch visits the rows in a new seeded random order, in
    minibatches of ``batch_size`` rows (the last may be smaller). For each minibatch,
    ``objective(batch, step)`` gets the minibatch's rows of every tensor of ``data`` and the
    step's number (from 1), and returns the per-datapoint ELBO [B] in nats, which the history
    averages, and the scalar that the step maximizes (the mean ELBO, or a weighted form of it);
    one :class:`FusedAdam` step on its gradient follows.

    The model and ``data`` move to ``device`` (default: :func:`default_device`) and the model
    moves back after. Every step runs inside :func:`vae.checks.disabled`: check the data first.
    The random draws follow ``seed`` (the order from a generator of its own, the objective's
    noise from torch's global one, forked so the caller's random state is left alone).
    ``evaluate()``, if given, runs after every epoch; its value (a held-out ELBO, nats) goes to
    ``history.test_elbo``. ``progress`` prints the epoch and its training ELBO on one line,
    rewritten each epoch.
    """
    _check_loop_settings(epochs, batch_size, lr)
    if not data or any(t.shape[0] != data[0].shape[0] for t in data):
        shapes = [tuple(t.shape) for t in data]
        raise ValueError(f"data must be tensors with the same number of rows, got {shapes}")
    n = data[0].shape[0]
    device = torch.device(device) if device is not None else default_device()
    home = next(model.parameters()).device
    model.to(device)
    data = tuple(t.to(device) for t in data)
    opt = FusedAdam(model.parameters(), lr=lr)
    history, step = History(), 0
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        with checks.disabled():
            for epoch in range(epochs):
                order = torch.randperm(n, generator=gen).to(device)
                mean, step = _train_epoch(model, opt, data, order, batch_size, objective, step)
                history.train_elbo.append(mean)
                if evaluate is not None:
                    history.test_elbo.append(evaluate())
                if progress:
                    print(f"\repoch {epoch + 1}/{epochs}: ELBO {mean:.2f}", end="")
    if progress:
        print()
    history.seconds = time.perf_counter() - start
    model.to(home)
    return history


@torch.no_grad()
def _test_elbo(model: VAE, x: Tensor) -> float:
    model.eval()
    return model.elbo(x).mean().item()


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
    """Maximize the ELBO of ``model`` on ``x_train`` [N, D] by minibatch Adam (in place); return
    the history of the ELBO per epoch.

    Each step uses the ``n_samples``-sample reparameterized ELBO of a minibatch. The model
    trains on ``device`` (default: :func:`default_device`, so CUDA when present) and is then
    moved back to the device it came on; results agree across devices up to rounding.
    ``progress`` prints the epoch and its training ELBO on one line, rewritten each epoch.

    ``beta`` weights the KL term: each step maximizes E_q[log p(x|z)] - beta * KL(q || p(z))
    (Higgins et al. 2017), the ELBO at ``beta=1``; the history still records the ELBO itself.
    Two remedies for posterior collapse change the objective in the same way: ``kl_warmup``
    epochs of *KL annealing* (Bowman et al. 2016), in which the KL weight rises linearly from 0
    to ``beta``, step by step; and ``free_bits`` nats per latent coordinate (Kingma et al.
    2016): the minibatch-averaged KL of coordinate j enters as max(free_bits, KL_j).
    ``free_bits`` needs a diagonal Gaussian encoder. See :class:`Objective`.
    """
    _check_settings(epochs, batch_size, lr, n_samples, beta, kl_warmup, free_bits)
    n = model.check_input(x_train).shape[0]
    objective = Objective(n_samples, beta, kl_warmup * -(-n // batch_size), free_bits)
    if x_test is not None:
        model.check_input(x_test)
    if free_bits > 0 and not is_diagonal(model.encoder(x_train[:1])):
        raise ValueError("free_bits needs a diagonal Gaussian encoder")
    device = torch.device(device) if device is not None else default_device()
    evaluate = None
    if x_test is not None:
        evaluate = functools.partial(_test_elbo, model, x_test.to(device))

    def step_objective(batch: tuple[Tensor, ...], step: int) -> tuple[Tensor, Tensor]:
        """The ELBO [B] of a minibatch of images and the objective, as :func:`maximize` asks."""
        return objective(model, batch[0], step)

    return maximize(
        model, (x_train,), step_objective, epochs, batch_size, lr, seed, progress, device, evaluate
    )
