"""Per-datapoint (non-amortized) variational inference, to measure the amortization gap.

Instead of one encoder for all x, each data point gets its own (mu_i, log sigma_i), optimized by
gradient ascent on its ELBO with the decoder held fixed. The difference between that ELBO and the
encoder's is the amortization gap (Cremer et al. 2018). For M <= 2, :func:`gap_decomposition`
splits the whole gap log p(x) - ELBO exactly, with log p(x) and every ELBO by quadrature:

    log p(x) - ELBO(q_phi)  =  [log p(x) - ELBO(q_best)]  +  [ELBO(q_best) - ELBO(q_phi)],
        total gap              approximation gap          amortization gap

where q_best is the best diagonal Gaussian for that x alone.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.distributions import Independent

from vae.checks import check_positive_int, check_q
from vae.gaussian import diagonal_gaussian
from vae.latent_model import MAX_ELEMENTS
from vae.model import VAE
from vae.quadrature import elbo_quadrature, log_marginal_quadrature, posterior_grid


def _start(model: VAE, x: Tensor, init: str | Independent) -> tuple[Tensor, Tensor]:
    """Leaf tensors (mu, log_sigma), each [N, M], where the optimization of q starts."""
    if isinstance(init, Independent):
        check_q(init, x.shape[0], model.latent_dim)
    elif init not in ("encoder", "prior"):
        raise ValueError(f"init must be 'encoder', 'prior' or a diagonal Gaussian, got {init!r}")
    with torch.no_grad():
        if isinstance(init, Independent):
            mu, log_sigma = init.mean.to(x.dtype).clone(), init.stddev.log().to(x.dtype).clone()
        elif init == "encoder":
            q0 = model.encoder(x)
            mu, log_sigma = q0.mean.clone(), q0.stddev.log().clone()
        else:
            mu = torch.zeros(x.shape[0], model.latent_dim, dtype=x.dtype)
            log_sigma = torch.zeros_like(mu)
    return mu.requires_grad_(), log_sigma.requires_grad_()


def optimize_q(
    model: VAE,
    x: Tensor,
    steps: int = 300,
    lr: float = 0.05,
    n_samples: int = 8,
    init: str | Independent = "encoder",
    seed: int = 0,
) -> Independent:
    """One q_i = N(mu_i, diag(sigma_i^2)) per row of ``x`` [N, D], by stochastic gradient ascent.

    Each of the ``steps`` steps of Adam (learning rate ``lr``) follows the reparameterized
    ELBO with ``n_samples`` samples of z, so the result wanders around the optimum by Monte
    Carlo noise (seeded by ``seed``; the global random state is left alone). ``init="encoder"``
    starts from the encoder's output, ``"prior"`` from N(0, I), and a diagonal Gaussian (batch
    shape [N]) from itself. The model's parameters are not changed. Returns q, batch shape [N].
    """
    check_positive_int(steps, "steps")
    x = model.check_input(x)
    mu, log_sigma = _start(model, x, init)
    opt = torch.optim.Adam([mu, log_sigma], lr=lr)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(steps):
            opt.zero_grad()
            q = diagonal_gaussian(mu, log_sigma)
            loss = -model.elbo(x, n_samples=n_samples, q=q).sum()
            loss.backward(inputs=[mu, log_sigma])
            opt.step()
    return diagonal_gaussian(mu.detach(), log_sigma.detach())


def optimize_q_quadrature(
    model: VAE,
    x: Tensor,
    n_nodes: int = 8,
    steps: int = 100,
    init: str | Independent = "encoder",
) -> Independent:
    """The best diagonal Gaussian q_i per row of ``x`` [N, D] near ``init``, for M <= 2.

    The ELBO is computed deterministically by :func:`~vae.quadrature.elbo_quadrature` with
    ``n_nodes`` Gauss-Hermite nodes per dimension and maximized by L-BFGS for at most ``steps``
    iterations, which finds the local optimum to numerical precision. ``init`` as for
    :func:`optimize_q`. The model's parameters are not changed. Returns q, batch shape [N].
    """
    check_positive_int(steps, "steps")
    check_positive_int(n_nodes, "n_nodes")
    x = model.check_input(x)
    mu, log_sigma = _start(model, x, init)
    opt = torch.optim.LBFGS(
        [mu, log_sigma], max_iter=steps, tolerance_grad=1e-9, line_search_fn="strong_wolfe"
    )

    def closure() -> Tensor:
        opt.zero_grad()
        q = diagonal_gaussian(mu, log_sigma)
        loss = -elbo_quadrature(model, x, q, n_nodes).sum()
        loss.backward(inputs=[mu, log_sigma])
        return loss

    opt.step(closure)
    return diagonal_gaussian(mu.detach(), log_sigma.detach())


class GapDecomposition(NamedTuple):
    """The gap of the encoder's ELBO, split per data point (each [N], float64, in nats)."""

    log_marginal: Tensor
    """log p(x), by quadrature."""
    elbo_best: Tensor
    """The ELBO of the best diagonal Gaussian q_best for each x alone."""
    elbo_encoder: Tensor
    """The ELBO of the encoder's q_phi(z|x)."""
    q_best: Independent
    """The best diagonal Gaussian for each x, batch shape [N]."""

    @property
    def total(self) -> Tensor:
        """The whole gap, log p(x) - ELBO(q_phi), which is KL(q_phi(z|x) || p(z|x)), [N]."""
        return self.log_marginal - self.elbo_encoder

    @property
    def approximation(self) -> Tensor:
        """The price of the Gaussian family, log p(x) - ELBO(q_best), [N]."""
        return self.log_marginal - self.elbo_best

    @property
    def amortization(self) -> Tensor:
        """The price of one shared encoder, ELBO(q_best) - ELBO(q_phi), [N]."""
        return self.elbo_best - self.elbo_encoder


def gap_decomposition(
    model: VAE,
    x: Tensor,
    n_nodes: int = 8,
    steps: int = 100,
    *,
    log_p: Tensor | None = None,
    max_elements: int = MAX_ELEMENTS,
) -> GapDecomposition:
    """Split log p(x) - ELBO into approximation and amortization gaps (Cremer et al. 2018).

    For a VAE with M <= 2 and x [N, D]: log p(x) by
    :func:`~vae.quadrature.log_marginal_quadrature`, or ``log_p`` where given; q_best by
    :func:`optimize_q_quadrature` (``n_nodes`` nodes per dimension, at most ``steps`` L-BFGS
    iterations), started twice, from the encoder's q and from the exact posterior's mean and
    marginal standard deviations (:func:`~vae.quadrature.posterior_grid`), keeping the better
    end per image, since either start alone can stop at a secondary local optimum; and both
    ELBOs by :func:`~vae.quadrature.elbo_quadrature`. Nothing is sampled, and
    ``total == approximation + amortization`` holds to rounding.

    Args:
        model: a VAE with M <= 2.
        x: data [N, D].
        n_nodes: Gauss-Hermite nodes per dimension of every ELBO.
        steps: L-BFGS iterations per start, at most.
        log_p: log p(x) [N] in nats where it is already known (e.g. from
            :func:`~vae.quadrature.log_marginal_quadrature` on these x), so that it is not
            computed again; returned as float64.
        max_elements: numbers per chunk of the quadratures' evaluations of log p(x, z), to
            bound memory (:func:`vae.latent_model.points_per_chunk`).

    Raises:
        ValueError: for bad x, or a ``log_p`` that is not a float tensor of shape [N].
    """
    x = model.check_input(x)
    if log_p is None:
        log_p = log_marginal_quadrature(model, x, max_elements=max_elements)
    elif (
        not isinstance(log_p, Tensor)
        or not log_p.is_floating_point()
        or log_p.shape != (x.shape[0],)
    ):
        got = (
            f"{log_p.dtype} of shape {list(log_p.shape)}"
            if isinstance(log_p, Tensor)
            else type(log_p).__name__
        )
        raise ValueError(
            f"log_p must be a float tensor of shape [N] = [{x.shape[0]}] (log p(x) per row of "
            f"x, in nats), got {got}"
        )
    log_p = log_p.double()
    grid = posterior_grid(model, x, n_intervals=32, max_elements=max_elements)
    mass = grid.log_mass.exp()[..., None]  # [P, N, 1]
    mean = (mass * grid.z).sum(0)
    std = (mass * (grid.z - mean) ** 2).sum(0).sqrt()
    starts = ("encoder", diagonal_gaussian(mean, std.log()))
    with torch.no_grad():
        elbo_encoder = elbo_quadrature(model, x, model.encode(x), n_nodes).double()
    fits = []
    for init in starts:
        q = optimize_q_quadrature(model, x, n_nodes=n_nodes, steps=steps, init=init)
        with torch.no_grad():
            fits.append((q, elbo_quadrature(model, x, q, n_nodes).double()))
    best, elbo_best = fits[0]
    for q, elbo in fits[1:]:  # keep the better end per image
        better = elbo > elbo_best
        mu = torch.where(better[:, None], q.mean, best.mean)
        sigma = torch.where(better[:, None], q.stddev, best.stddev)
        best, elbo_best = diagonal_gaussian(mu, sigma.log()), torch.maximum(elbo, elbo_best)
    return GapDecomposition(log_p, elbo_best, elbo_encoder, best)
