"""Distributions over whole-number counts 0..n, the pixel values of the digits.

* :class:`CountBinomial` -- Binomial(n, sigmoid(logits)) with n a whole number shared by every
  element, and a ``log_prob`` about 3x cheaper than torch's;
* :class:`CountCategorical` -- a Categorical over the counts 0..K-1 whose counts are numbers:
  it has a mean and a variance, and samples in the logits' floating-point dtype.

Both subclass ``torch.distributions.Distribution`` directly, through its public subclassing
API (``arg_constraints``, ``support``, ``Distribution.__init__``, ``_validate_sample``), rather
than ``Binomial`` or ``Categorical``, whose constructors do the work these classes avoid
(broadcasting a tensor of n; normalizing with ``logsumexp``) and which offer no public way to
skip it. Their values equal torch's to rounding error (tested against ``Binomial`` and
``Categorical``, sampling included: tests/unit/test_counts.py).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Distribution, constraints
from torch.nn import functional as F

from vae import checks
from vae.checks import check_positive_int

_Size = torch.Size | list[int] | tuple[int, ...]


def log_binomial_coefficients(
    n: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Tensor:
    """log C(n, k) for k = 0..n, shape [n + 1], from ``lgamma``."""
    k = torch.arange(n + 1, dtype=dtype, device=device)
    return torch.lgamma(k.new_tensor(n + 1.0)) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)


class CountBinomial(Distribution):
    """Binomial(n, sigmoid(logits)) for a whole number ``n`` shared by every element.

    The same distribution as ``torch.distributions.Binomial`` (sampling, mean, support), with a
    cheaper ``log_prob``: log C(n, k) comes from a table of the n + 1 values (see
    :func:`log_binomial_coefficients`; pass ``log_comb`` to reuse one) instead of three
    ``lgamma`` calls per element, and log p^k (1-p)^(n-k) = k * logit - n * softplus(logit).

    Args:
        total_count: n >= 1.
        logits: log-odds of a success, any shape (the batch shape).
        log_comb: the table of :func:`log_binomial_coefficients` for n, if already computed.
    """

    arg_constraints = {"logits": constraints.real}

    def __init__(self, total_count: int, logits: Tensor, log_comb: Tensor | None = None) -> None:
        self.n = check_positive_int(total_count, "total_count")
        self.logits = logits
        if log_comb is None:
            log_comb = log_binomial_coefficients(self.n, logits.dtype, logits.device)
        self.log_comb = log_comb
        super().__init__(logits.shape, validate_args=checks.validate_args())

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.n)

    @property
    def total_count(self) -> Tensor:
        """n for every element, shape ``batch_shape`` (a broadcast view)."""
        return self.logits.new_tensor(float(self.n)).expand(self.logits.shape)

    @property
    def probs(self) -> Tensor:
        """The success probability sigmoid(logits), shape ``batch_shape``."""
        return torch.sigmoid(self.logits)

    @property
    def mean(self) -> Tensor:
        return self.n * self.probs

    @property
    def variance(self) -> Tensor:
        return self.n * self.probs * (1 - self.probs)

    @property
    def mode(self) -> Tensor:
        return ((self.n + 1) * self.probs).floor().clamp(max=self.n)

    def expand(self, batch_shape: _Size, _instance: object = None) -> CountBinomial:
        """The same distribution with its logits broadcast to ``batch_shape``."""
        return CountBinomial(self.n, self.logits.expand(torch.Size(batch_shape)), self.log_comb)

    @torch.no_grad()
    def sample(self, sample_shape: _Size = ()) -> Tensor:
        """Counts drawn as torch's ``Binomial.sample`` draws them: shape
        ``sample_shape + batch_shape``, in the logits' dtype."""
        shape = torch.Size(sample_shape) + self.batch_shape
        return torch.binomial(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """log Binomial(value; n, sigmoid(logits)) in nats, for whole-number ``value`` in 0..n."""
        if self._validate_args:
            self._validate_sample(value)
        log_comb = self.log_comb.index_select(0, value.long().flatten()).view_as(value)
        # softplus(l) = log(1 + e^l); above `threshold` it returns l, exact to rounding in float32
        # and float64 when the threshold is 40 (e^-40 < 1e-17); torch's default is 20
        return value * self.logits - self.n * F.softplus(self.logits, threshold=40.0) + log_comb


class CountCategorical(Distribution):
    """Categorical over the counts 0..K-1 that stores and returns counts as floats.

    The same pmf as ``torch.distributions.Categorical`` (its ``log_prob``, ``entropy`` and
    ``sample``), plus what the counts' scale gives a meaning to: ``mean`` = sum_k k p_k and
    ``variance`` (torch's Categorical returns NaN for both, its categories being labels), and
    samples in the logits' floating-point dtype, like the data. The logits are normalized with
    ``log_softmax`` rather than torch's ``logits - logsumexp(logits)`` (the same values; a
    fused backward pass that makes a training step on the digits about 3x faster).

    Args:
        logits: unnormalized log-probabilities, shape [..., K]; the batch shape is [...].
    """

    arg_constraints = {"logits": constraints.independent(constraints.real, 1)}

    def __init__(self, logits: Tensor) -> None:
        if logits.ndim < 1:
            raise ValueError("logits must have at least one dimension, the K categories")
        self.logits = torch.log_softmax(logits, dim=-1)
        self.n_categories = logits.shape[-1]
        super().__init__(logits.shape[:-1], validate_args=checks.validate_args())

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.n_categories - 1)

    @property
    def probs(self) -> Tensor:
        """p_k, shape [..., K]."""
        return F.softmax(self.logits, dim=-1)

    @property
    def mean(self) -> Tensor:
        """E[x] = sum_k k p_k, shape ``batch_shape``."""
        return self.probs @ self._values()

    @property
    def variance(self) -> Tensor:
        """Var[x] = E[x^2] - E[x]^2, shape ``batch_shape``."""
        k = self._values()
        return self.probs @ (k * k) - self.mean**2

    @property
    def mode(self) -> Tensor:
        """The most probable count, as a float, shape ``batch_shape``."""
        return self.probs.argmax(-1).to(self.logits.dtype)

    def entropy(self) -> Tensor:
        """H = -sum_k p_k log p_k in nats, shape ``batch_shape``."""
        logits = self.logits.clamp(min=torch.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def expand(self, batch_shape: _Size, _instance: object = None) -> CountCategorical:
        """The same distribution with its logits broadcast to ``batch_shape``."""
        shape = torch.Size(batch_shape) + self.logits.shape[-1:]
        return CountCategorical(logits=self.logits.expand(shape))

    @torch.no_grad()
    def sample(self, sample_shape: _Size = ()) -> Tensor:
        """Counts drawn from the pmf as torch's ``Categorical.sample`` draws them, as floats:
        shape ``sample_shape + batch_shape``."""
        shape = torch.Size(sample_shape)
        probs_2d = self.probs.reshape(-1, self.n_categories)
        samples_2d = torch.multinomial(probs_2d, shape.numel(), True).T
        return samples_2d.reshape(shape + self.batch_shape).to(self.logits.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(value) in nats for counts ``value`` in 0..K-1, shape broadcast with the batch."""
        if self._validate_args:
            self._validate_sample(value)
        index, log_pmf = torch.broadcast_tensors(value.long().unsqueeze(-1), self.logits)
        return log_pmf.gather(-1, index[..., :1]).squeeze(-1)

    def _values(self) -> Tensor:
        return torch.arange(self.n_categories, dtype=self.logits.dtype, device=self.logits.device)
