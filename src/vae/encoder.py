"""The encoder (inference model) q_phi(z|x): amortized inference with one network for all x.

Parameterization, used everywhere in this package and the book: the network outputs the mean
``mu`` and the **log standard deviation** ``log_sigma`` (not the log-variance), and

    q_phi(z|x) = N(z; mu, diag(sigma^2)),  sigma = exp(log_sigma).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Independent, MultivariateNormal

from vae import checks
from vae.checks import check_data, check_positive_int
from vae.gaussian import diagonal_gaussian
from vae.nn import mlp


class Encoder(nn.Module):
    """q_phi(z|x) = N(mu_phi(x), diag(sigma_phi(x)^2)), an MLP that outputs (mu, log sigma).

    Args:
        x_dim: data dimension D.
        latent_dim: latent dimension M >= 1.
        hidden: widths of the hidden layers.
    """

    def __init__(self, x_dim: int, latent_dim: int, hidden: tuple[int, ...] = (128,)) -> None:
        super().__init__()
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.net = mlp([x_dim, *hidden, 2 * latent_dim])

    def params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(mu, log_sigma)``, each of shape [N, M], for data ``x`` of shape [N, D].

        ``x`` is checked (shape, finite) unless checks are off (:func:`vae.checks.disabled`).
        """
        if checks.enabled():
            check_data(x, self.x_dim)
        mu, log_sigma = self.net(x).chunk(2, dim=-1)
        return mu, log_sigma

    def forward(self, x: Tensor) -> Independent:
        """q_phi(z|x) for ``x`` of shape [N, D]: batch shape [N], event shape [M]."""
        return diagonal_gaussian(*self.params(x))


class FullCovarianceEncoder(nn.Module):
    """q_phi(z|x) = N(mu, L L^T) with a full lower-triangular Cholesky factor L.

    The diagonal of L is ``exp`` of a network output (so it is positive); the entries below
    the diagonal are unconstrained. With M = 1 this equals :class:`Encoder`. The network's
    outputs are, in order: mu [M], log diag(L) [M], and the M(M-1)/2 entries below the
    diagonal, row by row.
    """

    _tril: Tensor  # [2, M(M-1)/2], the (row, column) of each entry below the diagonal

    def __init__(self, x_dim: int, latent_dim: int, hidden: tuple[int, ...] = (128,)) -> None:
        super().__init__()
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        n_tril = latent_dim * (latent_dim - 1) // 2
        self.net = mlp([x_dim, *hidden, 2 * latent_dim + n_tril])
        self.register_buffer("_tril", torch.tril_indices(latent_dim, latent_dim, offset=-1))

    def forward(self, x: Tensor) -> MultivariateNormal:
        """q_phi(z|x) for ``x`` of shape [N, D]: batch shape [N], event shape [M]."""
        if checks.enabled():
            check_data(x, self.x_dim)
        m = self.latent_dim
        out = self.net(x)
        mu, log_diag, off = out[:, :m], out[:, m : 2 * m], out[:, 2 * m :]
        scale_tril = torch.diag_embed(log_diag.exp())
        scale_tril[:, self._tril[0], self._tril[1]] = off
        return MultivariateNormal(mu, scale_tril=scale_tril, validate_args=checks.validate_args())
