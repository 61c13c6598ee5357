"""What a latent-variable model is to this package: the protocol :class:`LatentModel` that the
estimators and the quadratures take, and :class:`ELBO`, the per-datapoint bound and its terms.

Both models of the package follow it: :class:`~vae.model.VAE` and
:class:`~vae.linear.LinearGaussian`; so can any other with a latent space.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from torch import Tensor
from torch.distributions import Distribution


@runtime_checkable
class LatentModel(Protocol):
    """A model p(x, z) = p(z) p(x|z) over data x [N, D] and latent vectors z [M]."""

    @property
    def latent_dim(self) -> int:
        """M, the dimension of z."""
        ...

    def check_input(self, x: object) -> Tensor:
        """``x`` checked as data of this model (shape [N, D], dtype, values); a ``ValueError``
        says what is wrong."""
        ...

    def prior(self) -> Distribution:
        """p(z), event shape [M]."""
        ...

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x, z) = log p(z) + log p(x|z) in nats, for x [N, D] and z [..., N, M] (or
        [..., 1, M], broadcast against x) -> [..., N]."""
        ...


class ELBO(NamedTuple):
    """Per-datapoint ELBO and its two terms, each of shape [N], in nats (what
    :meth:`vae.model.VAE.elbo_terms` and :meth:`vae.linear.LinearGaussian.elbo_terms` return)."""

    elbo: Tensor
    """L(x) = log_likelihood - kl."""
    log_likelihood: Tensor
    """E_q[log p_theta(x|z)], the expected reconstruction log-likelihood."""
    kl: Tensor
    """KL(q_phi(z|x) || p(z))."""
