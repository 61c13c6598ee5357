"""Gaussians over latent vectors: the one place where the package builds and tests them.

* :func:`diagonal_gaussian` -- N(mu, diag(sigma^2)) as ``Independent(Normal, 1)``;
* :func:`standard_normal` -- N(0, I_M), the prior of every model here;
* :func:`is_diagonal` -- whether a distribution is such a diagonal Gaussian over vectors;
* :func:`as_full_covariance` -- a diagonal or full Gaussian as a ``MultivariateNormal``;
* :func:`kl_to_standard_normal` -- the analytic KL(q || N(0, I)) of either kind.

Every object is built with ``validate_args`` from :func:`vae.checks.validate_args`, so a
``with vae.checks.disabled():`` block skips torch's argument checks too.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, MultivariateNormal, Normal, kl_divergence

from vae.checks import validate_args


def diagonal_gaussian(
    mu: Tensor, log_sigma: Tensor | None = None, *, sigma: Tensor | None = None
) -> Independent:
    """N(mu, diag(sigma^2)) as a distribution over vectors: event shape [M], batch shape [...].

    ``mu`` has shape [..., M]; give the spread either as ``log_sigma`` (sigma = exp(log_sigma),
    the encoder's parameterization) or as ``sigma`` itself, of a shape that broadcasts to mu's.
    """
    if (log_sigma is None) == (sigma is None):
        raise ValueError("give exactly one of log_sigma and sigma")
    if log_sigma is not None:
        if mu.shape != log_sigma.shape:
            raise ValueError(
                f"mu and log_sigma must have the same shape, got {tuple(mu.shape)} "
                f"and {tuple(log_sigma.shape)}"
            )
        scale = log_sigma.exp()
    else:
        assert sigma is not None  # checked above
        scale = sigma
    validate = validate_args()
    return Independent(Normal(mu, scale, validate_args=validate), 1, validate_args=validate)


def standard_normal(
    latent_dim: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Independent:
    """N(0, I_M) with event shape [M] (M = ``latent_dim``), of the given dtype and device."""
    zero = torch.zeros(latent_dim, dtype=dtype, device=device)
    return diagonal_gaussian(zero, sigma=torch.ones_like(zero))


def is_diagonal(q: Distribution) -> bool:
    """Whether ``q`` is a diagonal Gaussian over vectors, ``Independent(Normal, 1)``."""
    return (
        isinstance(q, Independent)
        and isinstance(q.base_dist, Normal)
        and q.reinterpreted_batch_ndims == 1
    )


def as_full_covariance(q: Distribution) -> MultivariateNormal:
    """A diagonal Gaussian (see :func:`is_diagonal`) or a ``MultivariateNormal`` as a
    ``MultivariateNormal`` with the same batch and event shapes; ``ValueError`` otherwise."""
    if isinstance(q, MultivariateNormal):
        return q
    if is_diagonal(q):
        scale_tril = torch.diag_embed(q.stddev)
        return MultivariateNormal(q.mean, scale_tril=scale_tril, validate_args=validate_args())
    raise ValueError(
        "q must be a Gaussian over vectors, Independent(Normal, 1) or MultivariateNormal, "
        f"got {type(q).__name__}"
    )


def kl_to_standard_normal(q: Distribution) -> Tensor:
    """Analytic KL(q || N(0, I)) in nats for a diagonal or full-covariance Gaussian q over
    [M] vectors: shape ``q.batch_shape``."""
    mean = q.mean
    m = mean.shape[-1]
    if isinstance(q, MultivariateNormal):
        eye = torch.eye(m, dtype=mean.dtype, device=mean.device)
        prior = MultivariateNormal(torch.zeros_like(eye[0]), scale_tril=eye, validate_args=False)
        return kl_divergence(q, prior)
    if not is_diagonal(q):
        raise ValueError(f"q must be a Gaussian over vectors, got {type(q).__name__}")
    return kl_divergence(q, standard_normal(m, mean.dtype, mean.device))


def kl_per_coordinate(q: Distribution) -> Tensor:
    """KL(q_m || N(0, 1)) of each coordinate m of a diagonal Gaussian q: shape [..., M]."""
    if not is_diagonal(q):
        raise ValueError(f"q must be a diagonal Gaussian, got {type(q).__name__}")
    assert isinstance(q, Independent)  # for the type checker: is_diagonal said so
    base = q.base_dist
    unit = Normal(torch.zeros_like(base.loc), torch.ones_like(base.scale), validate_args=False)
    return kl_divergence(base, unit)
