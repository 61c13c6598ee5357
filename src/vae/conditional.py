"""The conditional VAE: a model of p_theta(x | y) for data x with a label y.

The label y in 0..C-1 is observed; both networks see it as a one-hot vector appended to their
input (Sohn et al. 2015, :cite:p:`sohn2015learning`; the M2 model of Kingma et al. 2014,
:cite:p:`kingma2014semi`, with y always observed):

    p_theta(x | y) = int p_theta(x | z, y) p(z) dz,   p(z) = N(0, I),
    q_phi(z | x, y) = N(mu_phi(x, y), diag(sigma_phi(x, y)^2)),

and the per-datapoint ELBO, in nats,

    L(x, y) = E_q[log p_theta(x | z, y)] - KL(q_phi(z | x, y) || p(z))  <=  log p_theta(x | y).

It bounds log p(x | y), not log p(x). With a prior pi over the labels, the model is also a model
of x alone, p(x) = sum_y pi_y p_theta(x | y), and since each L(x, y) <= log p_theta(x | y),

    log sum_y pi_y exp L(x, y)  <=  log p(x),

a bound that can be set beside an unconditional VAE's ELBO
(:meth:`ConditionalVAE.log_marginal_bound`).

The encoder and decoders are the package's own (:mod:`vae.encoder`, :mod:`vae.decoder`), with C
more inputs; the model shares :class:`vae.model.VAE`'s base (:class:`vae.model.DeepLatentModel`:
the prior, the dtype, the checks of x) and its methods follow the VAE's (``elbo`` a Tensor [N],
``elbo_terms`` its terms, checks switched off by :func:`vae.checks.disabled`).
:func:`fit_conditional` trains in :func:`vae.train.fit`'s loop (:func:`vae.train.maximize`),
with each minibatch's labels beside its images.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.distributions import Independent

from vae import checks
from vae.checks import check_data, check_positive_int
from vae.data import N_PIXELS
from vae.encoder import Encoder
from vae.gaussian import kl_to_standard_normal
from vae.latent_model import ELBO
from vae.model import DeepLatentModel, make_decoder
from vae.train import History, maximize

__all__ = ["ConditionalVAE", "fit_conditional"]


class ConditionalVAE(DeepLatentModel):
    """A VAE of p_theta(x | y): encoder q_phi(z | x, y), decoder p_theta(x | z, y), p(z) = N(0, I).

    Args:
        n_classes: C, the number of labels; y takes values 0..C-1.
        x_dim: data dimension D (64 for the digits).
        latent_dim: latent dimension M >= 1.
        hidden: hidden-layer widths of both encoder and decoder.
        likelihood: one of :data:`vae.model.LIKELIHOODS`, as for :class:`vae.model.VAE`.
        total_count: the largest count per pixel, for the Binomial and Categorical decoders.
        seed: if given, the weights are initialized from this seed without touching the global
            random state.
    """

    def __init__(
        self,
        n_classes: int = 10,
        x_dim: int = N_PIXELS,
        latent_dim: int = 2,
        hidden: tuple[int, ...] = (128,),
        likelihood: str = "binomial",
        total_count: int = 16,
        seed: int | None = 0,
    ) -> None:
        n_classes = check_positive_int(n_classes, "n_classes")
        super().__init__(x_dim, latent_dim, likelihood, total_count)
        self.n_classes = n_classes
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = Encoder(x_dim + n_classes, latent_dim, hidden)  # input [x, onehot(y)]
            self.decoder = make_decoder(
                likelihood, latent_dim + n_classes, x_dim, hidden, total_count
            )

    def check_labels(self, y: object, n: int | None = None) -> Tensor:
        """Validate labels: a long tensor [N] (N = ``n`` if given) of values in 0..C-1."""
        if not isinstance(y, Tensor) or y.dtype != torch.long or y.ndim != 1:
            raise ValueError(f"y must be a 1-D torch.long tensor of labels, got {_describe(y)}")
        if n is not None and y.shape[0] != n:
            raise ValueError(
                f"y must have shape [{n}], one label per row of x, got shape {tuple(y.shape)}"
            )
        if (y < 0).any() or (y >= self.n_classes).any():
            raise ValueError(
                f"y must hold labels in 0..{self.n_classes - 1}, "
                f"got values in [{y.min().item()}, {y.max().item()}]"
            )
        return y

    def check_input(self, x: object, y: object) -> tuple[Tensor, Tensor]:
        """Validate a labelled batch: ``x`` [N, D] as for :meth:`vae.model.VAE.check_input`
        (:meth:`~vae.model.DeepLatentModel.check_x`: shape, the model's dtype, finite, counts
        or 0/1 as the decoder needs), ``y`` as for :meth:`check_labels`, one label per row of
        ``x``."""
        x = self.check_x(x)
        return x, self.check_labels(y, x.shape[0])

    def one_hot(self, y: Tensor) -> Tensor:
        """The labels ``y`` [...] as one-hot vectors [..., C] in the model's dtype."""
        return nn.functional.one_hot(y, self.n_classes).to(self.dtype)

    def encode(self, x: Tensor, y: Tensor) -> Independent:
        """q_phi(z | x, y) for ``x`` [N, D] and ``y`` [N]: batch shape [N], event shape [M]."""
        if checks.enabled():
            x, y = self.check_input(x, y)
        return self.encoder(torch.cat([x, self.one_hot(y)], dim=-1))

    def decode(self, z: Tensor, y: Tensor) -> Independent:
        """p_theta(x | z, y) for ``z`` [..., N, M] and ``y`` [N] (broadcast over the leading
        axes of ``z``): batch shape [..., N], event shape [D]."""
        onehot = self.one_hot(y).expand(*z.shape[:-1], self.n_classes)
        return self.decoder(torch.cat([z, onehot], dim=-1))

    def elbo_terms(self, x: Tensor, y: Tensor, n_samples: int = 1) -> ELBO:
        """Per-datapoint ELBO L(x, y) of ``x`` [N, D] with labels ``y`` [N] and its two terms,
        each [N], in nats; see :meth:`elbo`."""
        if checks.enabled():
            check_positive_int(n_samples, "n_samples")
        q = self.encode(x, y)
        z = q.rsample(torch.Size([n_samples] if n_samples > 1 else []))  # [S, N, M] or [N, M]
        log_lik = self.decode(z, y).log_prob(x)  # [S, N] or [N]
        if n_samples > 1:
            log_lik = log_lik.mean(0)
        kl = kl_to_standard_normal(q)
        return ELBO(log_lik - kl, log_lik, kl)

    def elbo(self, x: Tensor, y: Tensor, n_samples: int = 1) -> Tensor:
        """Per-datapoint ELBO L(x, y) <= log p_theta(x | y) of ``x`` [N, D] with labels ``y`` [N],
        in nats, shape [N] (:meth:`elbo_terms` gives its two terms too).

        The expected log-likelihood is averaged over ``n_samples`` reparameterized draws
        z = mu + sigma * eps; the KL term to the prior is analytic. Inside
        ``vae.checks.disabled()`` nothing is checked (the values are the same).
        """
        return self.elbo_terms(x, y, n_samples).elbo

    @torch.no_grad()
    def elbo_per_class(self, x: Tensor, n_samples: int = 1) -> Tensor:
        """L(x, y) for every label y, shape [N, C], in nats: each image of ``x`` [N, D] scored as
        if it were a digit of each class in turn (class 0 first, each with its own draws)."""
        n = check_data(x, self.x_dim).shape[0]
        cols = []
        for c in range(self.n_classes):
            y = torch.full((n,), c, dtype=torch.long, device=x.device)
            cols.append(self.elbo(x, y, n_samples))
        return torch.stack(cols, dim=-1)

    @torch.no_grad()
    def log_marginal_bound(
        self, x: Tensor, log_pi: Tensor | None = None, n_samples: int = 1
    ) -> Tensor:
        """A lower bound on log p(x) = log sum_y pi_y p_theta(x | y) with the label unseen:
        log sum_y pi_y exp L(x, y) for ``x`` [N, D], shape [N], in nats.

        ``log_pi`` [C] is the log prior over the labels (default: uniform, log 1/C). The bound
        holds in expectation over the draws of z (as the ELBO itself) and is at least the
        largest log pi_y + L(x, y).
        """
        if log_pi is None:
            log_pi = torch.full((self.n_classes,), -math.log(self.n_classes))
        p = next(self.parameters())
        log_pi = torch.as_tensor(log_pi, dtype=p.dtype, device=p.device)
        if log_pi.shape != (self.n_classes,):
            raise ValueError(
                f"log_pi must have shape [{self.n_classes}], got {tuple(log_pi.shape)}"
            )
        if abs(log_pi.logsumexp(0).item()) > 1e-5:
            raise ValueError("log_pi must be the log of probabilities that sum to 1")
        return torch.logsumexp(self.elbo_per_class(x, n_samples) + log_pi, dim=-1)

    @torch.no_grad()
    def sample(self, y: Tensor, z: Tensor | None = None, mean: bool = True) -> Tensor:
        """Images for the labels ``y`` [N], shape [N, D]: z ~ p(z) (or the given ``z`` [N, M]),
        then the decoder's mean (``mean=True``) or a draw from p_theta(x | z, y)."""
        y = self.check_labels(y)
        if z is None:
            z = self.prior().sample((len(y),))
        elif tuple(z.shape) != (len(y), self.latent_dim):
            raise ValueError(
                f"z must have shape [{len(y)}, {self.latent_dim}], got {tuple(z.shape)}"
            )
        p = self.decode(z, y)
        return p.mean if mean else p.sample()


def _describe(v: object) -> str:
    if isinstance(v, Tensor):
        return f"a {v.dtype} tensor of shape {tuple(v.shape)}"
    return type(v).__name__


def fit_conditional(
    model: ConditionalVAE,
    x_train: Tensor,
    y_train: Tensor,
    epochs: int = 100,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
    device: str | torch.device | None = None,
) -> History:
    """Maximize the ELBO of ``model`` on images ``x_train`` [N, D] with labels ``y_train`` [N]
    (long) by minibatch Adam (in place); return the history of the ELBO per epoch, in nats.

    The loop of :func:`vae.train.fit` (:func:`vae.train.maximize`): a seeded permutation per
    epoch, the single-sample reparameterized ELBO L(x, y) of each minibatch,
    :class:`vae.train.FusedAdam`, the data checked once and the steps run inside
    :func:`vae.checks.disabled`, the global random state left alone. The model trains on
    ``device`` (default: :func:`vae.train.default_device`) and is moved back after.
    ``history.train_elbo`` holds the average minibatch ELBO per epoch.
    """
    x_train, y_train = model.check_input(x_train, y_train)  # checked once, here

    def objective(batch: tuple[Tensor, ...], step: int) -> tuple[Tensor, Tensor]:
        """L(x, y) [B] of a minibatch of images and labels, and its mean (maximized)."""
        x, y = batch
        elbo = model.elbo(x, y)
        return elbo, elbo.mean()

    return maximize(
        model, (x_train, y_train), objective, epochs, batch_size, lr, seed, progress, device
    )
