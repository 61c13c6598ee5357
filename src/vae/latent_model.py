"""What a latent-variable model is to this package: the protocol :class:`LatentModel` that the
estimators and the quadratures take, :class:`ELBO`, the per-datapoint bound and its terms, and
:func:`points_per_chunk`, how many z the estimators and quadratures evaluate at once.

Both models of the package follow it: :class:`~vae.model.VAE` and
:class:`~vae.linear.LinearGaussian`; so can any other with a latent space.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from torch import Tensor
from torch.distributions import Distribution

from vae.checks import check_positive_int

MAX_ELEMENTS = 2**18
"""The default bound on the numbers in one chunk of an evaluation of log p(x, z) over many z
(:func:`points_per_chunk`): 2^18, 1 MiB in float32. Larger chunks are not faster on a CPU:
each chunk's tensors are fresh memory, and with chunks of 2^22-2^23 numbers (the earlier
defaults) page faults took 30-50 % of the time of a quadrature or an importance-sampled bound."""


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


def points_per_chunk(model: object, x: Tensor, max_elements: int, rows: int | None = None) -> int:
    """How many latent points one chunk evaluates log p(x, z) at, for all of x [N, D], within
    about ``max_elements`` numbers; at least 1.

    A point is z [rows, M]: one z per image (``rows`` = N, the default) or one z shared by all
    images (``rows`` = 1, a grid). It costs the larger of the decoder's outputs,
    rows x D x outputs per pixel, and the log-likelihood's terms, N x D. The outputs per pixel
    are the decoder's (``model.decoder.per_pixel``: 17 logits for a Categorical(17) pixel, 1 for
    the other decoders); 1 for a model without a decoder, such as
    :class:`~vae.linear.LinearGaussian`. A ``ValueError`` if ``max_elements`` is not a positive
    integer.
    """
    max_elements = check_positive_int(max_elements, "max_elements")
    per_pixel = getattr(getattr(model, "decoder", None), "per_pixel", 1)
    n, d = x.shape
    rows = n if rows is None else rows
    return max(1, max_elements // (max(rows * per_pixel, n) * d))
