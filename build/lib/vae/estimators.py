"""Monte Carlo estimators around the ELBO, in nats.

* :func:`log_weights` -- the importance log-weights log p(x, z) - log q(z|x);
* :func:`log_marginal_is` -- the importance-sampled bound (Burda et al. 2015)
  log p_K(x) = log (1/K) sum_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x), which is <= log p(x) in
  expectation, equals the ELBO's single-sample estimate at K = 1 and tends to log p(x) as K grows.
* :func:`kl_gap` -- the estimated gap log p_K(x) - ELBO(x), a lower estimate of KL(q || p(z|x)).
* :func:`kl_per_dimension`, :func:`active_units` -- how much each latent coordinate is used.
* :func:`reparam_gradient`, :func:`score_function_gradient`, :func:`gradient_variance` -- two
  unbiased estimators of the ELBO's gradient with respect to the variational parameters
  (mu, log sigma) of a diagonal Gaussian q, and their empirical variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal, kl_divergence

from vae._checks import check_positive_int, check_q
from vae.encoder import diagonal_gaussian
from vae.linear import LinearGaussian
from vae.model import VAE


def log_weights(model: VAE | LinearGaussian, x: Tensor, z: Tensor, q: Distribution) -> Tensor:
    """Importance log-weights log p(x, z) - log q(z|x), in nats: ``z`` [..., N, M] -> [..., N].

    Their mean over z ~ q is the ELBO; their log-mean-exp over K draws is log p_K(x).
    """
    return model.log_joint(x, z) - q.log_prob(z)


@torch.no_grad()
def log_marginal_is(
    model: VAE | LinearGaussian,
    x: Tensor,
    k: int,
    q: Distribution | None = None,
    max_elements: int = 2**22,
) -> Tensor:
    """Importance-sampled log p_K(x) with K = ``k`` samples from q(z|x), shape [N], in nats.

    ``q`` defaults to the model's encoder; pass one (batch shape [N]) to use another proposal,
    e.g. for the :class:`~vae.linear.LinearGaussian` model. Computed with logsumexp over chunks
    of samples, each chunk of about ``max_elements`` numbers ([chunk, N, D]), so memory does not
    grow with K.
    """
    k = check_positive_int(k, "k")
    x = model.check_input(x)
    n, d = x.shape
    if q is None:
        if not isinstance(model, VAE):
            raise ValueError("a proposal q is needed for a model without an encoder")
        q = model.encoder(x)
    else:
        check_q(q, n, model.latent_dim)
    chunk = max(1, min(k, max_elements // (n * d)))
    parts = []
    for start in range(0, k, chunk):
        z = q.sample((min(chunk, k - start),))  # [c, N, M]
        log_w = log_weights(model, x, z, q)  # [c, N]
        parts.append(torch.logsumexp(log_w, dim=0))
    return torch.logsumexp(torch.stack(parts), dim=0) - math.log(k)


@torch.no_grad()
def kl_gap(model: VAE, x: Tensor, k: int = 1000, n_samples: int = 100) -> Tensor:
    """Estimated gap log p_K(x) - ELBO(x), shape [N], in nats.

    The ELBO is averaged over ``n_samples`` draws. Because log p_K(x) <= log p(x) in expectation,
    this underestimates the true gap KL(q(z|x) || p(z|x)) and approaches it as K grows.
    """
    return log_marginal_is(model, x, k) - model.elbo(x, n_samples=n_samples).elbo


@torch.no_grad()
def kl_per_dimension(model: VAE, x: Tensor) -> Tensor:
    """Average over the data of KL(q(z_m|x) || N(0, 1)) for each latent coordinate m: [M].

    Needs a diagonal-Gaussian encoder. A coordinate with KL near 0 is unused (collapsed).
    """
    q = model.encode(x)
    if not (isinstance(q, Independent) and isinstance(q.base_dist, Normal)):
        raise ValueError("kl_per_dimension needs a diagonal-Gaussian encoder")
    base = q.base_dist
    unit = Normal(torch.zeros_like(base.loc), torch.ones_like(base.scale))
    return kl_divergence(base, unit).mean(0)


@torch.no_grad()
def active_units(model: VAE, x: Tensor, threshold: float = 0.01) -> Tensor:
    """Which latent coordinates are active: Var_x(E_q[z_m|x]) > ``threshold`` (Burda et al.).

    Returns a boolean tensor of shape [M].
    """
    return model.encode(x).mean.var(0) > threshold


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
    (not always: chapter 4 shows a counterexample).
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
