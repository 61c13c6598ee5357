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
more inputs. :func:`fit_conditional` trains like :func:`vae.train.fit`: seeded minibatch Adam on the
negative ELBO of labelled minibatches.
"""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor, nn
from torch.distributions import Independent, Normal, kl_divergence

from vae._checks import check_binary, check_counts, check_data, check_positive_int
from vae.data import N_PIXELS
from vae.decoder import BernoulliDecoder, BinomialDecoder, CategoricalDecoder, GaussianDecoder
from vae.encoder import Encoder
from vae.model import ELBO, LIKELIHOODS
from vae.train import FusedAdam, History, default_device

__all__ = ["ConditionalVAE", "fit_conditional"]


class ConditionalVAE(nn.Module):
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
        super().__init__()
        self.n_classes = check_positive_int(n_classes, "n_classes")
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.likelihood = likelihood
        c = n_classes
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = Encoder(x_dim + c, latent_dim, hidden)  # input [x, onehot(y)]
            self.decoder: nn.Module
            if likelihood == "binomial":
                self.decoder = BinomialDecoder(latent_dim + c, x_dim, hidden, total_count)
            elif likelihood == "categorical":
                self.decoder = CategoricalDecoder(latent_dim + c, x_dim, hidden, total_count)
            elif likelihood == "bernoulli":
                self.decoder = BernoulliDecoder(latent_dim + c, x_dim, hidden)
            else:
                self.decoder = GaussianDecoder(latent_dim + c, x_dim, hidden)
        self.register_buffer("_zero", torch.zeros(latent_dim))

    def prior(self) -> Independent:
        """p(z) = N(0, I) with event shape [M], the same for every label."""
        return Independent(Normal(self._zero, torch.ones_like(self._zero)), 1)

    def check_input(self, x: object, y: object) -> tuple[Tensor, Tensor]:
        """Validate a labelled batch: ``x`` [N, D] as for :meth:`vae.model.VAE.check_input`, ``y`` a
        long tensor [N] of labels in 0..C-1."""
        x = check_data(x, self.x_dim)
        if x.dtype != self._zero.dtype:
            raise ValueError(
                f"x has dtype {x.dtype}, but the model's parameters are {self._zero.dtype}"
            )
        if self.likelihood in ("binomial", "categorical"):
            check_counts(x, self.decoder.total_count)
        elif self.likelihood == "bernoulli":
            check_binary(x)
        if not isinstance(y, Tensor) or y.dtype != torch.long:
            raise ValueError(f"y must be a torch.long tensor of labels, got {_describe(y)}")
        if y.shape != x.shape[:1]:
            raise ValueError(
                f"y must have shape [{x.shape[0]}], one label per row of x, "
                f"got shape {tuple(y.shape)}"
            )
        if (y < 0).any() or (y >= self.n_classes).any():
            raise ValueError(
                f"y must hold labels in 0..{self.n_classes - 1}, "
                f"got values in [{y.min().item()}, {y.max().item()}]"
            )
        return x, y

    def one_hot(self, y: Tensor) -> Tensor:
        """The labels ``y`` [...] as one-hot vectors [..., C] in the model's dtype."""
        return nn.functional.one_hot(y, self.n_classes).to(self._zero.dtype)

    def encode(self, x: Tensor, y: Tensor, check: bool = True) -> Independent:
        """q_phi(z | x, y): batch shape [N], event shape [M]."""
        if check:
            x, y = self.check_input(x, y)
        validate = None if check else False
        return self.encoder(torch.cat([x, self.one_hot(y)], dim=-1), validate_args=validate)

    def decode(self, z: Tensor, y: Tensor, check: bool = True) -> Independent:
        """p_theta(x | z, y) for ``z`` [..., N, M] and ``y`` [N] (broadcast over the leading
        axes of ``z``): batch shape [..., N], event shape [D]."""
        onehot = self.one_hot(y).expand(*z.shape[:-1], self.n_classes)
        return self.decoder(torch.cat([z, onehot], dim=-1), validate_args=None if check else False)

    def elbo(self, x: Tensor, y: Tensor, n_samples: int = 1, check: bool = True) -> ELBO:
        """Per-datapoint ELBO L(x, y) <= log p_theta(x | y) and its two terms, each [N], in nats.

        The expected log-likelihood is averaged over ``n_samples`` reparameterized draws
        z = mu + sigma * eps; the KL term to the prior is analytic. ``check=False`` skips the
        checks of the data and of the distributions' arguments (a training loop that checked
        its data once).
        """
        if check:
            check_positive_int(n_samples, "n_samples")
        q = self.encode(x, y, check=check)
        z = q.rsample(torch.Size([n_samples] if n_samples > 1 else []))  # [S, N, M] or [N, M]
        log_lik = self.decode(z, y, check=check).log_prob(x)
        if n_samples > 1:
            log_lik = log_lik.mean(0)
        kl = kl_divergence(q, self.prior())
        return ELBO(log_lik - kl, log_lik, kl)

    @torch.no_grad()
    def elbo_per_class(self, x: Tensor, n_samples: int = 1) -> Tensor:
        """L(x, y) for every label y, shape [N, C], in nats: each image scored as if it were a
        digit of each class in turn."""
        x = check_data(x, self.x_dim)
        n = x.shape[0]
        cols = []
        for c in range(self.n_classes):
            y = torch.full((n,), c, dtype=torch.long, device=x.device)
            cols.append(self.elbo(x, y, n_samples).elbo)
        return torch.stack(cols, dim=-1)

    @torch.no_grad()
    def log_marginal_bound(
        self, x: Tensor, log_pi: Tensor | None = None, n_samples: int = 1
    ) -> Tensor:
        """A lower bound on log p(x) = log sum_y pi_y p_theta(x | y) with the label unseen:
        log sum_y pi_y exp L(x, y), shape [N], in nats.

        ``log_pi`` [C] is the log prior over the labels (default: uniform, log 1/C). The bound
        holds in expectation over the draws of z (as the ELBO itself) and is at least the
        largest log pi_y + L(x, y).
        """
        if log_pi is None:
            log_pi = torch.full((self.n_classes,), -math.log(self.n_classes))
        log_pi = torch.as_tensor(log_pi, dtype=self._zero.dtype, device=self._zero.device)
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
        if not isinstance(y, Tensor) or y.dtype != torch.long or y.ndim != 1:
            raise ValueError(f"y must be a 1-D torch.long tensor of labels, got {_describe(y)}")
        if (y < 0).any() or (y >= self.n_classes).any():
            raise ValueError(f"y must hold labels in 0..{self.n_classes - 1}")
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
    progress: bool = False,
    device: str | torch.device | None = None,
) -> History:
    """Maximize the ELBO of ``model`` on labelled data by minibatch Adam; return the history.

    The same loop as :func:`vae.train.fit` (a seeded permutation per epoch, the single-sample
    reparameterized ELBO of each minibatch, Adam with torch's fused update), with each
    minibatch's labels beside its images. ``x_train`` [N, D], ``y_train`` [N] long. The
    model trains on ``device`` (default: CUDA when present) and is moved back afterwards.
    ``history.train_elbo`` holds the average minibatch ELBO, L(x, y), per epoch.
    """
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    x_train, y_train = model.check_input(x_train, y_train)  # checked once, here
    device = torch.device(device) if device is not None else default_device()
    home = next(model.parameters()).device
    model.to(device)
    x_train, y_train = x_train.to(device), y_train.to(device)
    opt = FusedAdam(model.parameters(), lr=lr)
    history = History()
    n = x_train.shape[0]
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(n, generator=gen).to(device)
            xs, ys = x_train[perm], y_train[perm]
            total = torch.zeros((), device=device)
            for i in range(0, n, batch_size):
                elbo = model.elbo(xs[i : i + batch_size], ys[i : i + batch_size], check=False).elbo
                model.zero_grad(set_to_none=True)
                (-elbo.mean()).backward()
                opt.step()
                total += elbo.detach().sum()
            history.train_elbo.append(total.item() / n)
            if progress:
                print(f"\repoch {epoch + 1}/{epochs}: ELBO {history.train_elbo[-1]:.2f}", end="")
    if progress:
        print()
    model.eval()
    history.seconds = time.perf_counter() - start
    model.to(home)
    return history
