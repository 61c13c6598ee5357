"""The variational autoencoder: prior p(z) = N(0, I), decoder p_theta(x|z), encoder q_phi(z|x).

The per-datapoint evidence lower bound, in nats,

    L(x) = E_q[log p_theta(x|z)] - KL(q_phi(z|x) || p(z))  <=  log p_theta(x),

is estimated with the reparameterization trick z = mu + sigma * eps, eps ~ N(0, I).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.distributions import (
    Distribution,
    Independent,
    MultivariateNormal,
    Normal,
    kl_divergence,
)

from vae._checks import check_binary, check_counts, check_data, check_positive_int, check_q
from vae.data import N_PIXELS
from vae.decoder import BernoulliDecoder, BinomialDecoder, CategoricalDecoder, GaussianDecoder
from vae.encoder import Encoder, FullCovarianceEncoder

LIKELIHOODS = ("binomial", "categorical", "bernoulli", "gaussian")
"""The decoders :class:`VAE` offers: counts 0..total_count (Binomial, Categorical), binary data
(Bernoulli), real-valued data (Gaussian)."""


class ELBO(NamedTuple):
    """Per-datapoint ELBO and its two terms, each of shape [N], in nats."""

    elbo: Tensor
    """L(x) = log_likelihood - kl."""
    log_likelihood: Tensor
    """E_q[log p_theta(x|z)], the expected reconstruction log-likelihood."""
    kl: Tensor
    """KL(q_phi(z|x) || p(z))."""


class VAE(nn.Module):
    """A VAE: Gaussian encoder, a decoder from :data:`LIKELIHOODS`, standard normal prior.

    Args:
        x_dim: data dimension D (64 for the digits).
        latent_dim: latent dimension M >= 1.
        hidden: hidden-layer widths of both encoder and decoder.
        likelihood: ``"binomial"`` or ``"categorical"`` (counts 0..total_count, see
            :class:`~vae.decoder.BinomialDecoder`, :class:`~vae.decoder.CategoricalDecoder`),
            ``"bernoulli"`` (binary data) or ``"gaussian"`` (real-valued data).
        total_count: the largest count per pixel, for the Binomial and Categorical decoders.
        full_covariance: use :class:`~vae.encoder.FullCovarianceEncoder` (Cholesky) for q.
        seed: if given, the weights are initialized from this seed without touching the global
            random state, so the same arguments always give the same network.
    """

    def __init__(
        self,
        x_dim: int = N_PIXELS,
        latent_dim: int = 2,
        hidden: tuple[int, ...] = (128,),
        likelihood: str = "binomial",
        total_count: int = 16,
        full_covariance: bool = False,
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        check_positive_int(x_dim, "x_dim")
        check_positive_int(latent_dim, "latent_dim")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.x_dim, self.latent_dim, self.likelihood = x_dim, latent_dim, likelihood
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            enc = FullCovarianceEncoder if full_covariance else Encoder
            self.encoder = enc(x_dim, latent_dim, hidden)
            self.decoder: nn.Module
            if likelihood == "binomial":
                self.decoder = BinomialDecoder(latent_dim, x_dim, hidden, total_count)
            elif likelihood == "categorical":
                self.decoder = CategoricalDecoder(latent_dim, x_dim, hidden, total_count)
            elif likelihood == "bernoulli":
                self.decoder = BernoulliDecoder(latent_dim, x_dim, hidden)
            else:
                self.decoder = GaussianDecoder(latent_dim, x_dim, hidden)
        self.register_buffer("_zero", torch.zeros(latent_dim))

    def prior(self, validate_args: bool | None = None) -> Independent:
        """p(z) = N(0, I) with event shape [M]."""
        normal = Normal(self._zero, torch.ones_like(self._zero), validate_args=validate_args)
        return Independent(normal, 1, validate_args=validate_args)

    def kl_to_prior(self, q: Distribution, validate_args: bool | None = None) -> Tensor:
        """Analytic KL(q || p(z)) for a diagonal or full-covariance Gaussian q, shape [N]."""
        if isinstance(q, MultivariateNormal):
            eye = torch.diag_embed(torch.ones_like(self._zero))
            prior = MultivariateNormal(self._zero, scale_tril=eye, validate_args=validate_args)
            return kl_divergence(q, prior)
        return kl_divergence(q, self.prior(validate_args))

    def check_input(self, x: object) -> Tensor:
        """Validate a data batch: shape [N, D], the model's dtype, finite; counts 0..total_count
        for a Binomial or Categorical decoder, 0/1 for a Bernoulli one."""
        x = check_data(x, self.x_dim)
        if x.dtype != self._zero.dtype:
            raise ValueError(
                f"x has dtype {x.dtype}, but the model's parameters are {self._zero.dtype}"
            )
        if self.likelihood in ("binomial", "categorical"):
            check_counts(x, self.decoder.total_count)
        elif self.likelihood == "bernoulli":
            check_binary(x)
        return x

    def encode(self, x: Tensor) -> Distribution:
        """q_phi(z|x): batch shape [N], event shape [M]."""
        return self.encoder(self.check_input(x))

    def decode(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        return self.decoder(z)

    def log_joint(self, x: Tensor, z: Tensor, validate_args: bool | None = None) -> Tensor:
        """log p_theta(x, z) = log p(z) + log p_theta(x|z); ``z`` [..., N, M] -> [..., N].

        ``validate_args`` is passed to the distributions (False: no checks of x and z)."""
        prior, lik = self.prior(validate_args), self.decoder(z, validate_args=validate_args)
        return prior.log_prob(z) + lik.log_prob(x)

    def elbo(
        self,
        x: Tensor,
        n_samples: int = 1,
        analytic_kl: bool = True,
        q: Distribution | None = None,
        check: bool = True,
    ) -> ELBO:
        """Per-datapoint ELBO of ``x`` [N, D], estimated with ``n_samples`` reparameterized z.

        The KL term is analytic by default; with ``analytic_kl=False`` it is the Monte Carlo
        estimate log q(z|x) - log p(z) on the same samples. ``q`` replaces the encoder's
        q_phi(z|x) (for per-datapoint inference); it must have batch shape [N].

        ``check=False`` skips every check: of ``x`` (shape, dtype, counts), of the arguments,
        and of the distributions' arguments (``validate_args=False``). For a training loop
        that checked its data once, such as :func:`vae.train.fit`; the values are the same.
        """
        validate = None
        if check:
            x = self.check_input(x)
            check_positive_int(n_samples, "n_samples")
            if q is not None:
                check_q(q, x.shape[0], self.latent_dim)
        else:
            validate = False
        if q is None:
            q = self.encoder(x, validate_args=validate)
        # z = mu + sigma * eps: [S, N, M], or [N, M] for one sample (no sample axis to average)
        z = q.rsample(torch.Size([n_samples] if n_samples > 1 else []))
        log_lik = self.decoder(z, validate_args=validate).log_prob(x)  # [S, N] or [N]
        if analytic_kl:
            kl = self.kl_to_prior(q, validate)
        else:
            kl = q.log_prob(z) - self.prior(validate).log_prob(z)
        if n_samples > 1:
            log_lik, kl = log_lik.mean(0), (kl if analytic_kl else kl.mean(0))
        return ELBO(log_lik - kl, log_lik, kl)

    @torch.no_grad()
    def sample(self, n: int, mean: bool = True) -> Tensor:
        """Draw ``n`` images from the model, shape [n, D]: z ~ p(z), then the decoder's mean
        (``mean=True``) or a sample x ~ p_theta(x|z)."""
        check_positive_int(n, "n")
        p = self.decode(self.prior().sample((n,)))
        return p.mean if mean else p.sample()

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """The decoder's mean at the encoder's mean, E[x | z = mu_phi(x)], shape [N, D]."""
        return self.decode(self.encode(x).mean).mean
