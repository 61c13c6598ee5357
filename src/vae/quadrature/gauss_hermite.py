"""The ELBO of a Gaussian q computed deterministically, by Gauss-Hermite quadrature (M small).

    ELBO(x, q) = E_q[log p(x, z)] + H[q],

with the expectation a weighted sum over n^M nodes z = mean + L u (L the Cholesky factor of q's
covariance, u the Gauss-Hermite nodes of N(0, I_M)); differentiable in q's parameters, so an
optimizer can maximize it (:func:`vae.inference.optimize_q_quadrature`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Distribution

from vae import checks
from vae.checks import check_positive_int, check_q
from vae.gaussian import as_full_covariance
from vae.latent_model import LatentModel
from vae.quadrature.lattice import check_model, product_grid


def gauss_hermite_nodes(n_nodes: int, m: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Nodes u [n^M, M] and weights w [n^M] with sum_i w_i f(u_i) ~ E[f(u)], u ~ N(0, I_M)."""
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)  # weight exp(-t^2 / 2)
    ticks = torch.as_tensor(t, dtype=torch.float64)
    tick_weights = torch.as_tensor(w / math.sqrt(2 * math.pi), dtype=torch.float64)
    nodes = product_grid(ticks, m)
    weights = product_grid(tick_weights, m).prod(-1)
    return nodes.to(dtype), weights.to(dtype)


def elbo_quadrature(model: LatentModel, x: Tensor, q: Distribution, n_nodes: int = 16) -> Tensor:
    """The ELBO E_q[log p(x, z)] + H[q] of a Gaussian q, by Gauss-Hermite quadrature: [N].

    ``q`` is a diagonal (``Independent(Normal)``) or full-covariance (``MultivariateNormal``)
    Gaussian with batch shape [N] and event shape [M]. The expectation uses the tensor product
    of ``n_nodes`` Gauss-Hermite nodes per dimension (n_nodes^M evaluations of log p(x, z) per
    image), which is exact for a log p(x, z) that is a polynomial of degree < 2 n_nodes in z and
    deterministic, unlike :meth:`vae.model.VAE.elbo`. The result has x's dtype and is
    differentiable with respect to q's parameters, so it can be maximized.

    Raises:
        ValueError: for bad shapes or a q that is not Gaussian, or n_nodes^M above 2^16.
    """
    m, x = check_model(model, x, grid=False)
    n_nodes = check_positive_int(n_nodes, "n_nodes")
    if n_nodes**m > 2**16:
        raise ValueError(f"n_nodes^M = {n_nodes}^{m} nodes per image is too many")
    check_q(q, x.shape[0], m)
    scale_tril = as_full_covariance(q).scale_tril  # diagonal or full Gaussian, [N, M, M]
    nodes, weights = gauss_hermite_nodes(n_nodes, m, x.dtype)
    z = q.mean + torch.einsum("nij,pj->pni", scale_tril, nodes)  # [P, N, M]
    with checks.disabled():  # x was checked above; z is finite where q's parameters are
        log_joint = model.log_joint(x, z)
    expected = torch.einsum("p,pn->n", weights, log_joint)
    return expected + q.entropy()
