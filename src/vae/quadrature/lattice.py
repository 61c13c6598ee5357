"""The lattice machinery the quadratures share: product grids over z, log p(x, z) evaluated
on them in chunks, boxes around the mass, and Riemann sums of p(x, z) over a box.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from vae import checks
from vae.latent_model import LatentModel, points_per_chunk

#: A share of the mass (as a log) below which a region is ignored: e^-20, about 2e-9.
NEGLIGIBLE = -20.0


def check_model(model: object, x: Tensor, grid: bool = True) -> tuple[int, Tensor]:
    """The model's latent dimension M and ``x`` checked by the model; a ``ValueError`` if the
    model does not follow :class:`~vae.latent_model.LatentModel`, or, for a ``grid`` over z,
    if M > 2."""
    if not isinstance(model, LatentModel):
        raise ValueError(
            "model must have a latent_dim, check_input(x), prior() and a log_joint(x, z) method"
        )
    m = model.latent_dim
    if grid and m not in (1, 2):
        raise ValueError(
            f"quadrature needs latent_dim 1 or 2 (the grid grows as n^M), got {m}; "
            "use vae.log_marginal_is for larger latent spaces"
        )
    return m, model.check_input(x)


def check_positive(value: float, name: str) -> float:
    """``value`` as a float if it is a finite positive number; a ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def log_joint_chunked(model: LatentModel, x: Tensor, z: Tensor, max_elements: int) -> Tensor:
    """log p(x, z) for z [P, N or 1, M] (float64) in chunks of points, as float64 [P, N]; each
    chunk of about ``max_elements`` numbers (:func:`~vae.latent_model.points_per_chunk`)."""
    n = x.shape[0]
    chunk = points_per_chunk(model, x, max_elements, rows=z.shape[1])
    # no checks: x was checked once, and the grid's z are finite by construction (the checks
    # cost about a quarter of each evaluation)
    with checks.disabled():
        out = [
            model.log_joint(x, part.to(x.dtype)).to(torch.float64).expand(-1, n)
            for part in z.split(chunk)
        ]
    return torch.cat(out)


def product_grid(ticks: Tensor, m: int) -> Tensor:
    """All points of the product grid ticks^M, shape [len(ticks)^M, M]."""
    return torch.cartesian_prod(*[ticks] * m).reshape(-1, m)


def bounding_box(points: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
    """Per image, the smallest box holding the kept points: points [P, n, M] (or [P, 1, M]),
    keep [P, n] -> lo, hi [n, M]."""
    inf = torch.tensor(math.inf, dtype=torch.float64)
    lo = torch.where(keep[..., None], points, inf).amin(0)
    hi = torch.where(keep[..., None], points, -inf).amax(0)
    return lo, hi


class LatticeSum(NamedTuple):
    """Riemann sums of p(x, z) over each image's box (see :func:`lattice_sum`)."""

    fine: Tensor
    """log of the sum at step h, [n]."""
    coarse: Tensor
    """log of the sum at step 2h (every second point), [n]."""
    face_share: Tensor
    """log of the share of the mass on the box's faces, [n]."""
    z: Tensor
    """The lattice points, [P, n, M]."""
    log_f: Tensor
    """log p(x, z) at those points, [P, n]."""


def lattice_sum(
    model: LatentModel, x: Tensor, lo: Tensor, hi: Tensor, k: int, max_elements: int
) -> LatticeSum:
    """Riemann sums of p(x, z) on a lattice of k steps per dimension over each image's box
    [lo, hi] (each [n, M], float64)."""
    m = lo.shape[1]
    ticks = product_grid(torch.arange(k + 1, dtype=torch.float64), m)  # [P, M] in 0..k
    step = (hi - lo) / k  # [n, M]
    z = lo + ticks[:, None, :] * step  # [P, n, M]
    log_f = log_joint_chunked(model, x, z, max_elements)  # [P, n]
    total = torch.logsumexp(log_f, 0)
    fine = total + step.log().sum(-1)
    even = (ticks % 2 == 0).all(-1)
    coarse = torch.logsumexp(log_f[even], 0) + (2 * step).log().sum(-1)
    face = ((ticks == 0) | (ticks == k)).any(-1)
    face_share = torch.logsumexp(log_f[face], 0) - total
    return LatticeSum(fine, coarse, face_share, z, log_f)
