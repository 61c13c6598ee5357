"""The variational autoencoder: prior p(z) = N(0, I), decoder p_theta(x|z), encoder q_phi(z|x).

The per-datapoint evidence lower bound, in nats,

    L(x) = E_q[log p_theta(x|z)] - KL(q_phi(z|x) || p(z))  <=  log p_theta(x),

is estimated with the reparameterization trick z = mu + sigma * eps, eps ~ N(0, I).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent

from vae import checks
from vae.checks import check_binary, check_counts, check_data, check_positive_int, check_q
from vae.data import N_PIXELS
from vae.decoder import BernoulliDecoder, BinomialDecoder, CategoricalDecoder, GaussianDecoder
from vae.encoder import Encoder, FullCovarianceEncoder
from vae.gaussian import kl_to_standard_normal, standard_normal
from vae.latent_model import ELBO

LIKELIHOODS = ("binomial", "categorical", "bernoulli", "gaussian")
"""The decoders :class:`VAE` offers: counts 0..total_count (Binomial, Categorical), binary data
(Bernoulli), real-valued data (Gaussian)."""


def make_decoder(
    likelihood: str, in_dim: int, x_dim: int, hidden: tuple[int, ...], total_count: int
) -> nn.Module:
    """The decoder network of :data:`LIKELIHOODS` ``likelihood``: ``in_dim`` inputs (z [M], or z
    beside a one-hot label), a distribution over x [D] out (see :mod:`vae.decoder`).

    ``total_count`` is the largest count per pixel (Binomial and Categorical decoders only).
    """
    if likelihood == "binomial":
        return BinomialDecoder(in_dim, x_dim, hidden, total_count)
    if likelihood == "categorical":
        return CategoricalDecoder(in_dim, x_dim, hidden, total_count)
    if likelihood == "bernoulli":
        return BernoulliDecoder(in_dim, x_dim, hidden)
    return GaussianDecoder(in_dim, x_dim, hidden)


class DeepLatentModel(nn.Module):
    """What :class:`VAE` and :class:`~vae.conditional.ConditionalVAE` share: a deep
    latent-variable model (Kingma & Welling 2019) with the prior p(z) = N(0, I) over z [M] and a
    decoder from :data:`LIKELIHOODS` over data x [D]; the subclasses add the networks.

    Args:
        x_dim: data dimension D (64 for the digits).
        latent_dim: latent dimension M >= 1.
        likelihood: one of :data:`LIKELIHOODS`.
        total_count: the largest count per pixel, for the Binomial and Categorical decoders.
    """

    def __init__(self, x_dim: int, latent_dim: int, likelihood: str, total_count: int) -> None:
        super().__init__()
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.likelihood, self.total_count = likelihood, total_count

    @property
    def dtype(self) -> torch.dtype:
        """The floating-point dtype of the model's parameters (and of the data it takes)."""
        return next(self.parameters()).dtype

    def prior(self) -> Independent:
        """p(z) = N(0, I) with event shape [M], on the model's device and dtype (in a
        conditional model, the same for every label)."""
        p = next(self.parameters())
        return standard_normal(self.latent_dim, p.dtype, p.device)

    def check_x(self, x: object) -> Tensor:
        """Validate a data batch ``x``: shape [N, D], the model's dtype, finite; counts
        0..total_count for a Binomial or Categorical decoder, 0/1 for a Bernoulli one."""
        x = check_data(x, self.x_dim)
        if x.dtype != self.dtype:
            raise ValueError(f"x has dtype {x.dtype}, but the model's parameters are {self.dtype}")
        if self.likelihood in ("binomial", "categorical"):
            check_counts(x, self.total_count)
        elif self.likelihood == "bernoulli":
            check_binary(x)
        return x


class VAE(DeepLatentModel):
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
        super().__init__(x_dim, latent_dim, likelihood, total_count)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            enc = FullCovarianceEncoder if full_covariance else Encoder
            self.encoder = enc(x_dim, latent_dim, hidden)
            self.decoder = make_decoder(likelihood, latent_dim, x_dim, hidden, total_count)

    def kl_to_prior(self, q: Distribution) -> Tensor:
        """Analytic KL(q || p(z)) for a diagonal or full-covariance Gaussian q, shape [N]."""
        return kl_to_standard_normal(q)

    def check_input(self, x: object) -> Tensor:
        """Validate a data batch: shape [N, D], the model's dtype, finite; counts 0..total_count
        for a Binomial or Categorical decoder, 0/1 for a Bernoulli one
        (:meth:`DeepLatentModel.check_x`)."""
        return self.check_x(x)

    def encode(self, x: Tensor) -> Distribution:
        """q_phi(z|x): batch shape [N], event shape [M]."""
        return self.encoder(self.check_input(x) if checks.enabled() else x)

    def decode(self, z: Tensor) -> Independent:
        """p_theta(x|z) for ``z`` of shape [..., M]: batch shape [...], event shape [D]."""
        return self.decoder(z)

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p_theta(x, z) = log p(z) + log p_theta(x|z); ``z`` [..., N, M] -> [..., N]."""
        return self.prior().log_prob(z) + self.decoder(z).log_prob(x)

    def elbo_terms(
        self, x: Tensor, n_samples: int = 1, analytic_kl: bool = True, q: Distribution | None = None
    ) -> ELBO:
        """Per-datapoint ELBO of ``x`` [N, D] and its two terms, estimated with ``n_samples``
        reparameterized z; see :meth:`elbo`."""
        if checks.enabled():
            x = self.check_input(x)
            check_positive_int(n_samples, "n_samples")
            if q is not None:
                check_q(q, x.shape[0], self.latent_dim)
        if q is None:
            q = self.encoder(x)
        # z = mu + sigma * eps: [S, N, M], or [N, M] for one sample (no sample axis to average)
        z = q.rsample(torch.Size([n_samples] if n_samples > 1 else []))
        log_lik = self.decoder(z).log_prob(x)  # [S, N] or [N]
        if analytic_kl:
            kl = self.kl_to_prior(q)
        else:
            kl = q.log_prob(z) - self.prior().log_prob(z)
        if n_samples > 1:
            log_lik, kl = log_lik.mean(0), (kl if analytic_kl else kl.mean(0))
        return ELBO(log_lik - kl, log_lik, kl)

    def elbo(
        self, x: Tensor, n_samples: int = 1, analytic_kl: bool = True, q: Distribution | None = None
    ) -> Tensor:
        """Per-datapoint ELBO of ``x`` [N, D] in nats, shape [N], estimated with ``n_samples``
        reparameterized z (:meth:`elbo_terms` gives its two terms too).

        The KL term is analytic by default; with ``analytic_kl=False`` it is the Monte Carlo
        estimate log q(z|x) - log p(z) on the same samples. ``q`` replaces the encoder's
        q_phi(z|x) (for per-datapoint inference); it must have batch shape [N]. Inside
        ``vae.checks.disabled()`` nothing is checked (the values are the same).
        """
        return self.elbo_terms(x, n_samples, analytic_kl, q).elbo

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
