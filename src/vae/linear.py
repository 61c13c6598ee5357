"""The linear-Gaussian model (probabilistic PCA), where every quantity of the book is exact.

    p(z) = N(0, I_M),   p(x|z) = N(x; W z + b, tau2 I_D),   so   p(x) = N(x; b, W W^T + tau2 I).

The noise variance is called tau2 (tau^2 in the book), not sigma2: sigma is the encoder's
standard deviation.

The posterior is Gaussian with a covariance shared by all x:

    p(z|x) = N(z; A^{-1} W^T (x - b), tau2 A^{-1}),   A = W^T W + tau2 I_M,

so log p(x), the ELBO of any Gaussian q and KL(q || p(z|x)) all have closed forms, and
``log_marginal(x) == elbo(x, q) + kl_gap(x, q)`` holds to rounding error (Tipping & Bishop 1999).
Here ``elbo`` and ``kl_gap`` are exact; their Monte Carlo counterparts for any model are
:meth:`vae.model.VAE.elbo` and :func:`vae.estimators.kl_gap_estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, MultivariateNormal, kl_divergence

from vae.checks import check_data, check_positive_int, check_q, validate_args
from vae.gaussian import as_full_covariance, diagonal_gaussian, standard_normal
from vae.latent_model import ELBO


@dataclass
class LinearGaussian:
    """Probabilistic PCA: ``W`` [D, M], ``b`` [D], noise variance ``tau2`` (a 0-dim tensor).

    ``x = W z + b + eta`` with ``z ~ N(0, I_M)`` and noise ``eta ~ N(0, tau2 I_D)``.
    """

    W: Tensor
    b: Tensor
    tau2: Tensor

    def __post_init__(self) -> None:
        if self.W.ndim != 2 or self.b.shape != (self.W.shape[0],):
            raise ValueError(
                f"W must be [D, M] and b [D], got {tuple(self.W.shape)} and {tuple(self.b.shape)}"
            )
        self.tau2 = torch.as_tensor(self.tau2, dtype=self.W.dtype)
        if not (self.tau2 > 0):
            raise ValueError(f"tau2 must be positive, got {float(self.tau2)}")

    @property
    def x_dim(self) -> int:
        return self.W.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.W.shape[1]

    @classmethod
    def max_likelihood(
        cls, x: Tensor, latent_dim: int, rotation_seed: int | None = None
    ) -> LinearGaussian:
        """Closed-form maximum likelihood (Tipping & Bishop 1999) on ``x`` [N, D].

        With S the sample covariance (divided by N), eigenvalues l_1 >= ... >= l_D and
        eigenvectors U: tau2 = mean(l_{M+1..D}), W = U_M (L_M - tau2 I)^{1/2} R, b = mean(x).
        Every orthogonal R gives the same p(x). With R = I (the default) the columns of W are
        orthogonal and the posterior p(z|x) has a diagonal covariance; ``rotation_seed`` draws a
        random R instead (see :meth:`rotate`), which makes the posterior correlated.
        """
        x = check_data(x)
        check_positive_int(latent_dim, "latent_dim")
        n, d = x.shape
        if latent_dim >= d:
            raise ValueError(f"latent_dim must be < D = {d}, got {latent_dim}")
        b = x.mean(0)
        xc = x - b
        evals, evecs = torch.linalg.eigh(xc.T @ xc / n)
        evals, evecs = evals.flip(0).clamp_min(0), evecs.flip(1)
        tau2 = evals[latent_dim:].mean()
        if not tau2 > 0:
            raise ValueError(f"the data have rank <= latent_dim = {latent_dim}: no noise left")
        W = evecs[:, :latent_dim] * (evals[:latent_dim] - tau2).clamp_min(0).sqrt()
        model = cls(W, b, tau2)
        if rotation_seed is not None:
            model = model.rotate(random_rotation(latent_dim, rotation_seed, dtype=x.dtype))
        return model

    def rotate(self, R: Tensor) -> LinearGaussian:
        """The same p(x) with W replaced by W R for an orthogonal ``R`` [M, M].

        The latent space is rotated: p(x) and log p(x) are unchanged, the posterior is rotated
        too, so whether it is axis-aligned (and a diagonal q can be exact) depends on R.
        """
        eye = torch.eye(self.latent_dim, dtype=self.W.dtype)
        if R.shape != eye.shape or not torch.allclose(R.T @ R, eye, atol=1e-6):
            m = self.latent_dim
            raise ValueError(f"R must be an orthogonal [{m}, {m}] matrix, got {tuple(R.shape)}")
        return LinearGaussian(self.W @ R.to(self.W.dtype), self.b, self.tau2)

    def check_input(self, x: object) -> Tensor:
        """Validate data: a finite float tensor [N, D] of the model's dtype."""
        x = check_data(x, self.x_dim)
        if x.dtype != self.W.dtype:
            raise ValueError(f"x has dtype {x.dtype}, but the model is {self.W.dtype}")
        return x

    def prior(self) -> Independent:
        """p(z) = N(0, I_M)."""
        return standard_normal(self.latent_dim, self.W.dtype)

    def likelihood(self, z: Tensor) -> Independent:
        """p(x|z) = N(W z + b, tau2 I) for ``z`` [..., M]; event shape [D]."""
        return diagonal_gaussian(z @ self.W.T + self.b, sigma=self.tau2.sqrt())

    def marginal(self) -> MultivariateNormal:
        """p(x) = N(b, W W^T + tau2 I)."""
        cov = self.W @ self.W.T + self.tau2 * torch.eye(self.x_dim, dtype=self.W.dtype)
        return MultivariateNormal(self.b, covariance_matrix=cov, validate_args=validate_args())

    def log_marginal(self, x: Tensor) -> Tensor:
        """Exact log p(x) in nats, shape [N]."""
        return self.marginal().log_prob(self.check_input(x))

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x, z) = log p(z) + log p(x|z); ``z`` [..., N, M] -> [..., N]."""
        return self.prior().log_prob(z) + self.likelihood(z).log_prob(x)

    def _precision(self) -> Tensor:
        """Posterior precision A / tau2, shape [M, M] (the same for every x)."""
        eye = torch.eye(self.latent_dim, dtype=self.W.dtype)
        return (self.W.T @ self.W) / self.tau2 + eye

    def posterior(self, x: Tensor) -> MultivariateNormal:
        """The exact p(z|x): batch shape [N], event shape [M]."""
        x = self.check_input(x)
        precision = self._precision()
        mean = torch.linalg.solve(precision, ((x - self.b) @ self.W / self.tau2).T).T
        return MultivariateNormal(mean, precision_matrix=precision.expand(x.shape[0], -1, -1))

    def best_diagonal_q(self, x: Tensor) -> Independent:
        """The diagonal Gaussian q that maximizes the ELBO (minimizes KL(q || p(z|x))).

        Its mean is the posterior mean and its variances are 1 / diag(posterior precision),
        which are smaller than the posterior's marginal variances unless the posterior is
        axis-aligned.
        """
        post = self.posterior(x)
        std = self._precision().diagonal().rsqrt()
        return diagonal_gaussian(post.mean, sigma=std.expand_as(post.mean))

    def marginal_q(self, x: Tensor) -> Independent:
        """The diagonal Gaussian with the posterior's mean and marginal variances."""
        post = self.posterior(x)
        std = post.covariance_matrix[0].diagonal().sqrt()
        return diagonal_gaussian(post.mean, sigma=std.expand_as(post.mean))

    def elbo_terms(self, x: Tensor, q: Distribution) -> ELBO:
        """The exact ELBO of a Gaussian q (batch [N]) and its two terms, each [N], in nats.

        With q = N(m, C): E_q log p(x|z) = log N(x; W m + b, tau2 I) - tr(W C W^T) / (2 tau2)
        and KL(q || p(z)) = -(E_q log p(z) + H[q]) with E_q log p(z) = log N(m; 0, I) - tr(C) / 2.
        """
        x = self.check_input(x)
        full = as_full_covariance(q)
        check_q(full, x.shape[0], self.latent_dim, allow_unbatched=True)
        m, cov = full.mean, full.covariance_matrix
        tr_wcw = torch.einsum("dm,...mk,dk->...", self.W, cov, self.W)
        tr_c = cov.diagonal(dim1=-2, dim2=-1).sum(-1)
        exp_log_lik = self.likelihood(m).log_prob(x) - tr_wcw / (2 * self.tau2)
        exp_log_prior = self.prior().log_prob(m) - tr_c / 2
        entropy = full.entropy()
        elbo = exp_log_lik + exp_log_prior + entropy
        return ELBO(elbo, exp_log_lik, -(exp_log_prior + entropy))

    def elbo(self, x: Tensor, q: Distribution) -> Tensor:
        """The exact ELBO E_q[log p(x, z)] + H[q] of a Gaussian q (batch [N]), shape [N], in
        nats; :meth:`elbo_terms` gives its two terms too."""
        return self.elbo_terms(x, q).elbo

    def kl_gap(self, x: Tensor, q: Distribution) -> Tensor:
        """The exact KL(q || p(z|x)) = log p(x) - ELBO, in nats, shape [N]."""
        return kl_divergence(as_full_covariance(q), self.posterior(x))

    def em_step(self, x: Tensor) -> LinearGaussian:
        """One step of expectation-maximization on data ``x`` [N, D]; returns the new model.

        E-step: q(z_n) = p(z_n | x_n) = N(m_n, S) under this model, which makes the ELBO equal
        to log p(x). M-step: the (W, b, tau2) that maximize sum_n E_q[log p(x_n, z_n)], in
        closed form: with z~ = (z, 1) and Wb = [W, b], Wb = (sum_n x_n E[z~_n]^T)
        (sum_n E[z~_n z~_n^T])^{-1} and tau2 = sum_n E||x_n - Wb z~_n||^2 / (N D). The
        log-likelihood never decreases (Dempster, Laird & Rubin 1977).
        """
        x = self.check_input(x)
        n, d = x.shape
        post = self.posterior(x)
        m, s = post.mean, post.covariance_matrix[0]  # [N, M], [M, M]
        m1 = torch.cat([m, torch.ones(n, 1, dtype=x.dtype)], dim=1)  # E[z~_n], [N, M + 1]
        ezz = m1.T @ m1  # sum_n E[z~ z~^T] = sum_n m~ m~^T + N [[S, 0], [0, 0]]
        ezz[:-1, :-1] += n * s
        wb = torch.linalg.solve(ezz, m1.T @ x).T  # [D, M + 1]
        w, b = wb[:, :-1], wb[:, -1]
        resid = x - m1 @ wb.T
        tau2 = (resid.pow(2).sum() + n * torch.einsum("dm,mk,dk->", w, s, w)) / (n * d)
        return LinearGaussian(w, b, tau2)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` data vectors x ~ p(x), shape [n, D]."""
        check_positive_int(n, "n")
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=self.W.dtype)
        eta = torch.randn(n, self.x_dim, generator=generator, dtype=self.W.dtype)
        return z @ self.W.T + self.b + self.tau2.sqrt() * eta


def random_rotation(m: int, seed: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """A uniformly random orthogonal [m, m] matrix (QR of a Gaussian matrix, signs fixed)."""
    check_positive_int(m, "m")
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=torch.float64))
    return (q * r.diagonal().sign()).to(dtype)
