"""Per-datapoint (non-amortized) variational inference, to measure the amortization gap.

Instead of one encoder for all x, each data point gets its own (mu_i, log sigma_i), optimized by
gradient ascent on its ELBO with the decoder held fixed. The difference between that ELBO and the
encoder's is the amortization gap (Cremer et al. 2018).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Independent

from vae._checks import check_positive_int
from vae.encoder import diagonal_gaussian
from vae.model import VAE


def fit_local(
    model: VAE,
    x: Tensor,
    steps: int = 300,
    lr: float = 0.05,
    n_samples: int = 8,
    init: str = "encoder",
    seed: int = 0,
) -> Independent:
    """Optimize one q_i = N(mu_i, diag(sigma_i^2)) per row of ``x`` [N, D] with Adam.

    ``init="encoder"`` starts from the encoder's output, ``"prior"`` from N(0, I). The model's
    parameters are not changed. Returns the optimized q with batch shape [N].
    """
    check_positive_int(steps, "steps")
    if init not in ("encoder", "prior"):
        raise ValueError(f"init must be 'encoder' or 'prior', got {init!r}")
    x = model.check_input(x)
    with torch.no_grad():
        if init == "encoder":
            q0 = model.encoder(x)
            mu, log_sigma = q0.mean.clone(), q0.stddev.log().clone()
        else:
            mu = torch.zeros(x.shape[0], model.latent_dim, dtype=x.dtype)
            log_sigma = torch.zeros_like(mu)
    mu.requires_grad_()
    log_sigma.requires_grad_()
    opt = torch.optim.Adam([mu, log_sigma], lr=lr)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(steps):
            opt.zero_grad()
            q = diagonal_gaussian(mu, log_sigma)
            loss = -model.elbo(x, n_samples=n_samples, q=q).elbo.sum()
            loss.backward(inputs=[mu, log_sigma])
            opt.step()
    return diagonal_gaussian(mu.detach(), log_sigma.detach())
