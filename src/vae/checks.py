"""Input validation shared by the package, and the one switch that turns it off.

Every bad input is a clear ``ValueError`` naming what was expected and what came. A training
loop that checked its data once turns the checks off for its steps with :func:`disabled`::

    with vae.checks.disabled():
        loss = -model.elbo(xb).mean()   # no checks of xb, nor of the distributions' arguments

Inside the block, the package's methods skip their checks of the data and build every
``torch.distributions`` object with ``validate_args=False``; the values are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import Tensor
from torch.distributions import Distribution

_ENABLED: ContextVar[bool] = ContextVar("vae_checks_enabled", default=True)


def enabled() -> bool:
    """Whether checks are on here (they are, outside a :func:`disabled` block)."""
    return _ENABLED.get()


@contextmanager
def disabled() -> Iterator[None]:
    """Turn the package's checks off inside a ``with`` block (restored on exit, per thread)."""
    token = _ENABLED.set(False)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def validate_args() -> bool | None:
    """What to pass as ``validate_args`` to a ``torch.distributions`` object: ``None`` (torch's
    default) where checks are on, ``False`` inside :func:`disabled`."""
    return None if _ENABLED.get() else False


def check_data(x: object, dim: int | None = None, name: str = "x") -> Tensor:
    """Check that ``x`` is a finite floating-point tensor of shape [N, dim]; return it.

    Raises ``ValueError`` naming what was expected and what came.
    """
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape [N, D], got shape {tuple(x.shape)}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} must have shape [N, {dim}], got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one row, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite, but it contains NaN or inf")
    return x


def check_counts(x: Tensor, total_count: int, name: str = "x") -> Tensor:
    """Check that ``x`` holds integer counts in 0..total_count (stored as floats)."""
    if (x < 0).any() or (x > total_count).any():
        lo, hi = x.min().item(), x.max().item()
        raise ValueError(
            f"{name} must hold counts in 0..{total_count}, got values in [{lo:g}, {hi:g}]"
        )
    if not torch.equal(x, x.round()):
        raise ValueError(f"{name} must hold integer counts 0..{total_count}")
    return x


def check_binary(x: Tensor, name: str = "x") -> Tensor:
    """Check that ``x`` holds only 0s and 1s (stored as floats), e.g. binarized digits."""
    if not ((x == 0) | (x == 1)).all():
        bad = x[(x != 0) & (x != 1)][0].item()
        raise ValueError(
            f"{name} must be binary (0 or 1) for a Bernoulli decoder, got e.g. {bad:g}; "
            "binarize grey levels first (vae.data.binarize)"
        )
    return x


def check_q(
    q: Distribution, n: int, latent_dim: int, allow_unbatched: bool = False
) -> Distribution:
    """Check that ``q`` is a distribution over [latent_dim] vectors, one per data point (batch
    shape [n]; also [] with ``allow_unbatched``); return it."""
    batch = tuple(q.batch_shape)
    if (batch != (n,) and not (allow_unbatched and batch == ())) or tuple(q.event_shape) != (
        latent_dim,
    ):
        raise ValueError(
            f"q must have batch shape [{n}] and event shape [{latent_dim}], "
            f"got {batch} and {tuple(q.event_shape)}"
        )
    return q


def check_positive_int(value: object, name: str) -> int:
    """Check that ``value`` is an integer >= 1; return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value
