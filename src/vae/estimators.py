"""Monte Carlo estimators around the ELBO, in nats.

* :func:`log_weights` -- the importance log-weights log p(x, z) - log q(z|x);
* :func:`log_marginal_is` -- the importance-sampled bound (Burda et al. 2015)
  log p_K(x) = log (1/K) sum_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x), which is <= log p(x) in
  expectation, equals the ELBO's single-sample estimate at K = 1 and tends to log p(x) as K grows.
* :func:`kl_gap_estimate` -- the estimated gap log p_K(x) - ELBO(x), a lower estimate of
  KL(q || p(z|x)) (exact in the linear-Gaussian model: :meth:`vae.linear.LinearGaussian.kl_gap`);
* :func:`kl_per_dimension`, :func:`active_units` -- how much each latent coordinate is used.

The estimators of the ELBO's gradient are in :mod:`vae.gradients`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.distributions import Distribution

from vae.checks import check_positive_int, check_q
from vae.gaussian import kl_per_coordinate
from vae.latent_model import MAX_ELEMENTS, LatentModel, points_per_chunk
from vae.model import VAE

DRAW_BLOCK = 2**22
""":func:`log_marginal_is` draws z in blocks of max(1, 2^22 // (N x D)) samples, whatever its
``max_elements``: the blocks of earlier versions, so that a seeded estimate stays the same (a
block's size decides which random numbers each sample gets)."""


def log_weights(model: LatentModel, x: Tensor, z: Tensor, q: Distribution) -> Tensor:
    """Importance log-weights log p(x, z) - log q(z|x), in nats: ``z`` [..., N, M] -> [..., N].

    Their mean over z ~ q is the ELBO; their log-mean-exp over K draws is log p_K(x).
    """
    return model.log_joint(x, z) - q.log_prob(z)


@torch.no_grad()
def log_marginal_is(
    model: LatentModel,
    x: Tensor,
    k: int,
    q: Distribution | None = None,
    max_elements: int = MAX_ELEMENTS,
) -> Tensor:
    """Importance-sampled log p_K(x) with K = ``k`` samples from q(z|x), shape [N], in nats.

    ``q`` defaults to the model's encoder; pass one (batch shape [N]) to use another proposal,
    e.g. for the :class:`~vae.linear.LinearGaussian` model. Computed with logsumexp over blocks
    of samples, so memory does not grow with K: z is drawn in blocks of :data:`DRAW_BLOCK`
    // (N x D) samples, and log p(x, z) evaluated in chunks of about ``max_elements`` numbers
    (samples x N x D x the decoder's outputs per pixel: :func:`vae.latent_model.points_per_chunk`).
    ``max_elements`` bounds memory only: the estimate does not depend on it beyond rounding.
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
    chunk = points_per_chunk(model, x, max_elements)
    block = max(1, min(k, DRAW_BLOCK // (n * d)))
    parts = []
    for start in range(0, k, block):
        z = q.sample((min(block, k - start),))  # [b, N, M]
        log_w = torch.cat([log_weights(model, x, part, q) for part in z.split(chunk)])  # [b, N]
        parts.append(torch.logsumexp(log_w, dim=0))
    return torch.logsumexp(torch.stack(parts), dim=0) - math.log(k)


@torch.no_grad()
def kl_gap_estimate(model: VAE, x: Tensor, k: int = 1000, n_samples: int = 100) -> Tensor:
    """Estimated gap log p_K(x) - ELBO(x), shape [N], in nats.

    The ELBO is averaged over ``n_samples`` draws. Because log p_K(x) <= log p(x) in expectation,
    this underestimates the true gap KL(q(z|x) || p(z|x)) and approaches it as K grows.
    """
    return log_marginal_is(model, x, k) - model.elbo(x, n_samples=n_samples)


@torch.no_grad()
def kl_per_dimension(model: VAE, x: Tensor) -> Tensor:
    """Average over the data of KL(q(z_m|x) || N(0, 1)) for each latent coordinate m: [M].

    Needs a diagonal-Gaussian encoder. A coordinate with KL near 0 is unused (collapsed).
    """
    return kl_per_coordinate(model.encode(x)).mean(0)


ACTIVE_MIN_KL = 0.05
"""A latent coordinate is *active* when its KL to the prior, averaged over the evaluation data
(:func:`kl_per_dimension`), is at least this many nats; below, it is (nearly) collapsed."""


@torch.no_grad()
def active_units(model: VAE, x: Tensor, threshold: float = ACTIVE_MIN_KL) -> Tensor:
    """Which latent coordinates are active: those whose KL to the prior, averaged over ``x``
    (:func:`kl_per_dimension`), is at least ``threshold`` nats. Returns a boolean tensor [M].

    Burda et al. (2015) count coordinate m active when Var_x(E_q[z_m|x]) > 0.01; since
    KL(q_m || N(0, 1)) averaged over x is at least Var_x(mu_m) / 2, the KL criterion is the
    stricter one. Needs a diagonal-Gaussian encoder.
    """
    return kl_per_dimension(model, x) >= threshold
