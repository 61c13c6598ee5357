"""Decoders p_theta(x|z), each returning a ``torch.distributions`` object over the data vector.

* :class:`BinomialDecoder` for the digits: each pixel counts 0..16 inked sub-pixels, so
  p_theta(x|z) = prod_d Binomial(x_d; 16, p_d(z)) is a probability mass and log p(x) is in nats.
* :class:`CategoricalDecoder` for the digits: each pixel gets its own Categorical over the
  total_count + 1 values 0..16, so a pixel can be bimodal (mostly 0 or 16, as the digits' pixels
  are), which no Binomial pixel can be. Also a probability mass: log p(x) is in nats.
* :class:`BernoulliDecoder` for binary data (binarized digits, :func:`vae.data.binarize`).
* :class:`GaussianDecoder` for continuous data: N(x; m(z), diag(s^2)) with a learned per-pixel
  log standard deviation log s.

Each ``forward(z)`` builds its distributions with ``validate_args`` from
:func:`vae.checks.validate_args` (off inside ``vae.checks.disabled()``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Bernoulli, Independent

from vae.checks import check_positive_int, validate_args
from vae.counts import CountBinomial, CountCategorical, log_binomial_coefficients
from vae.gaussian import diagonal_gaussian
from vae.nn import mlp


class MLPDecoder(nn.Module):
    """What every decoder here shares: checked sizes and ``net``, an MLP from z [..., M] to
    ``x_dim * per_pixel`` outputs, the parameters of p_theta(x|z).

    Args:
        latent_dim: M.
        x_dim: D.
        hidden: widths of the hidden layers.
        per_pixel: outputs per pixel (1, or one logit per value for a Categorical).
    """

    def __init__(
        self, latent_dim: int, x_dim: int, hidden: tuple[int, ...], per_pixel: int = 1
    ) -> None:
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.per_pixel = check_positive_int(per_pixel, "per_pixel")
        self.net = mlp([latent_dim, *hidden, x_dim * per_pixel])


class BinomialDecoder(MLPDecoder):
    """p_theta(x|z) = prod_d Binomial(x_d; total_count, sigmoid(logit_d(z))).

    Args:
        latent_dim: M.
        x_dim: D.
        hidden: widths of the hidden layers.
        total_count: trials per pixel (16 for the digits).
    """

    def __init__(
        self, latent_dim: int, x_dim: int, hidden: tuple[int, ...] = (128,), total_count: int = 16
    ) -> None:
        total_count = check_positive_int(total_count, "total_count")
        super().__init__(latent_dim, x_dim, hidden)
        self.total_count = total_count
        # log C(n, k), k = 0..n, per (dtype, device): computed once, not on every call
        self._log_comb: dict[tuple[torch.dtype, torch.device], Tensor] = {}

    def forward(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        logits = self.net(z)
        key = (logits.dtype, logits.device)
        if key not in self._log_comb:
            self._log_comb[key] = log_binomial_coefficients(self.total_count, *key)
        p = CountBinomial(self.total_count, logits, self._log_comb[key])
        return Independent(p, 1, validate_args=validate_args())


class CategoricalDecoder(MLPDecoder):
    """p_theta(x|z) = prod_d Categorical(x_d; softmax(l_d(z))) over the counts 0..total_count.

    The network outputs D x (total_count + 1) logits; pixel d's pmf over its 17 values (for the
    digits) is free, so unlike a Binomial it can put its mass on 0 and on 16 at once.

    Args:
        latent_dim: M.
        x_dim: D.
        hidden: widths of the hidden layers.
        total_count: the largest count (16 for the digits); each pixel has total_count + 1 values.
    """

    def __init__(
        self, latent_dim: int, x_dim: int, hidden: tuple[int, ...] = (128,), total_count: int = 16
    ) -> None:
        total_count = check_positive_int(total_count, "total_count")
        super().__init__(latent_dim, x_dim, hidden, per_pixel=total_count + 1)
        self.total_count = total_count

    def forward(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        logits = self.net(z).unflatten(-1, (self.x_dim, self.total_count + 1))
        return Independent(CountCategorical(logits), 1, validate_args=validate_args())


class BernoulliDecoder(MLPDecoder):
    """p_theta(x|z) = prod_d Bernoulli(x_d; sigmoid(logit_d(z))) for binary x in {0, 1}^D.

    Args:
        latent_dim: M.
        x_dim: D.
        hidden: widths of the hidden layers.
    """

    def __init__(self, latent_dim: int, x_dim: int, hidden: tuple[int, ...] = (128,)) -> None:
        super().__init__(latent_dim, x_dim, hidden)

    def forward(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        validate = validate_args()
        p = Bernoulli(logits=self.net(z), validate_args=validate)
        return Independent(p, 1, validate_args=validate)


class GaussianDecoder(MLPDecoder):
    """p_theta(x|z) = N(x; m_theta(z), diag(s^2)) with a learned log s per pixel."""

    def __init__(
        self, latent_dim: int, x_dim: int, hidden: tuple[int, ...] = (128,), init_log_s: float = 0.0
    ) -> None:
        super().__init__(latent_dim, x_dim, hidden)
        self.log_s = nn.Parameter(torch.full((x_dim,), float(init_log_s)))

    def forward(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        return diagonal_gaussian(self.net(z), sigma=self.log_s.exp())
