"""Decoders p_theta(x|z), each returning a ``torch.distributions`` object over the data vector.

* :class:`BinomialDecoder` for the digits: each pixel counts 0..16 inked sub-pixels, so
  p_theta(x|z) = prod_d Binomial(x_d; 16, p_d(z)) is a probability mass and log p(x) is in nats.
* :class:`GaussianDecoder` for continuous data: N(x; m(z), diag(s^2)) with a learned per-pixel
  log standard deviation log s.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Binomial, Independent, Normal

from vae._checks import check_positive_int
from vae.nn import mlp


class CountBinomial(Binomial):
    """Binomial(n, logits) for a whole-number ``n`` shared by every element.

    The same distribution as ``torch.distributions.Binomial`` (sampling, mean, support), with a
    cheaper ``log_prob``: log C(n, k) comes from a table of the n + 1 values instead of three
    ``lgamma`` calls per element, and log p^k (1-p)^(n-k) = k * logit - n * softplus(logit).
    Equal to torch's ``Binomial.log_prob`` to rounding error (tested), about 3x faster.
    """

    def __init__(self, total_count: int, logits: Tensor, validate_args: bool | None = None):
        super().__init__(total_count, logits=logits, validate_args=validate_args)
        self._n = check_positive_int(total_count, "total_count")
        k = torch.arange(self._n + 1, dtype=logits.dtype, device=logits.device)
        self._log_comb = torch.lgamma(k.new_tensor(self._n + 1.0)) - torch.lgamma(k + 1)
        self._log_comb = self._log_comb - torch.lgamma(self._n - k + 1)

    def expand(self, batch_shape: torch.Size, _instance: object = None) -> CountBinomial:
        """The same distribution with its logits broadcast to ``batch_shape``."""
        return CountBinomial(self._n, self.logits.expand(torch.Size(batch_shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        """log Binomial(value; n, sigmoid(logits)) in nats, for whole-number ``value`` in 0..n."""
        if self._validate_args:
            self._validate_sample(value)
        logits = self.logits
        softplus = logits.clamp_min(0) + torch.log1p(torch.exp(-logits.abs()))  # exact for all
        return value * logits - self._n * softplus + self._log_comb[value.long()]


class BinomialDecoder(nn.Module):
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
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.total_count = check_positive_int(total_count, "total_count")
        self.net = mlp([latent_dim, *hidden, x_dim])

    def forward(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        return Independent(CountBinomial(self.total_count, logits=self.net(z)), 1)


class GaussianDecoder(nn.Module):
    """p_theta(x|z) = N(x; m_theta(z), diag(s^2)) with a learned log s per pixel."""

    def __init__(
        self, latent_dim: int, x_dim: int, hidden: tuple[int, ...] = (128,), init_log_s: float = 0.0
    ) -> None:
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.net = mlp([latent_dim, *hidden, x_dim])
        self.log_s = nn.Parameter(torch.full((x_dim,), float(init_log_s)))

    def forward(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        return Independent(Normal(self.net(z), self.log_s.exp()), 1)
