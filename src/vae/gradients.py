"""Two unbiased estimators of the ELBO's gradient with respect to the variational parameters
(mu, log sigma) of a diagonal Gaussian q, and their empirical variance:

* :func:`reparam_gradient` -- the reparameterization (pathwise) estimator;
* :func:`score_function_gradient` -- the score-function (REINFORCE) estimator;
* :func:`gradient_variance` -- the mean and variance of either over independent draws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from vae.checks import check_positive_int
from vae.gaussian import diagonal_gaussian

LogJoint = Callable[[Tensor], Tensor]
"""log p(x, z) as a function of z [..., N, M] -> [..., N], for fixed data x."""


def _leaves(mu: Tensor, log_sigma: Tensor, n_draws: int) -> tuple[Tensor, Tensor]:
    if mu.shape != log_sigma.shape or mu.ndim != 2:
        raise ValueError(
            f"mu and log_sigma must both be [N, M], got {tuple(mu.shape)}, {tuple(log_sigma.shape)}"
        )
    rep = (check_positive_int(n_draws, "n_draws"), 1, 1)
    return (
        mu.detach().repeat(rep).requires_grad_(),
        log_sigma.detach().repeat(rep).requires_grad_(),
    )


def _gradient(
    estimator: str, log_joint: LogJoint, mu: Tensor, log_sigma: Tensor, n_samples: int, n_draws: int
) -> Tensor:
    check_positive_int(n_samples, "n_samples")
    mu_r, ls_r = _leaves(mu, log_sigma, n_draws)
    q = diagonal_gaussian(mu_r, ls_r)  # batch [n_draws, N]
    if estimator == "reparam":
        z = q.rsample((n_samples,))  # z = mu + sigma * eps: gradients flow through z
        surrogate = log_joint(z).mean(0)
    elif estimator == "score":
        z = q.sample((n_samples,))  # no path through z: use grad log q instead
        surrogate = (log_joint(z).detach() * q.log_prob(z)).mean(0)
    else:
        raise ValueError(f"estimator must be 'reparam' or 'score', got {estimator!r}")
    objective = surrogate + q.entropy()  # the entropy term is exact in both estimators
    g_mu, g_ls = torch.autograd.grad(objective.sum(), (mu_r, ls_r))
    return torch.cat([g_mu, g_ls], dim=-1)  # [n_draws, N, 2M]


def reparam_gradient(
    log_joint: LogJoint, mu: Tensor, log_sigma: Tensor, n_samples: int = 1, n_draws: int = 1
) -> Tensor:
    """Reparameterization estimates of d ELBO / d(mu, log sigma), shape [n_draws, N, 2M].

    ELBO(x) = E_q[log p(x, z)] + H[q] with q = N(mu, diag(sigma^2)); each of the ``n_draws``
    independent estimates averages ``n_samples`` draws z = mu + sigma * eps. The last axis holds
    the gradient for mu (first M entries), then for log sigma.
    """
    return _gradient("reparam", log_joint, mu, log_sigma, n_samples, n_draws)


def score_function_gradient(
    log_joint: LogJoint, mu: Tensor, log_sigma: Tensor, n_samples: int = 1, n_draws: int = 1
) -> Tensor:
    """Score-function (REINFORCE) estimates of d ELBO / d(mu, log sigma), [n_draws, N, 2M].

    Uses E_q[f(z)] gradient = E_q[f(z) grad log q(z)] with f = log p(x, z) and the entropy's
    gradient exact, so it is unbiased like :func:`reparam_gradient`, but typically noisier
    (not always: which is quieter depends on log p(x, z) and q).
    """
    return _gradient("score", log_joint, mu, log_sigma, n_samples, n_draws)


class GradientStats(NamedTuple):
    """Mean and variance over independent draws of a gradient estimator, each [N, 2M]."""

    mean: Tensor
    variance: Tensor


def gradient_variance(
    estimator: str,
    log_joint: LogJoint,
    mu: Tensor,
    log_sigma: Tensor,
    n_samples: int = 1,
    n_draws: int = 1000,
) -> GradientStats:
    """Empirical mean and variance of ``estimator`` (``"reparam"`` or ``"score"``) over
    ``n_draws`` independent estimates, each averaging ``n_samples`` samples of z."""
    g = _gradient(estimator, log_joint, mu, log_sigma, n_samples, n_draws)
    return GradientStats(g.mean(0), g.var(0))
