"""Exact log p(x) by adaptive quadrature, for models with a one- or two-dimensional latent space.

    log p(x) = log integral p(x, z) dz,   z in R^M,  M <= 2,

is a low-dimensional integral of a smooth function, so a grid computes it to any accuracy;
nothing is estimated. :func:`log_marginal_quadrature` does it in three stages, per image:

1. **Locate.** Evaluate log p(x, z) on a coarse grid over the prior's support, [-R, R]^M with
   step ``coarse_step`` (one grid shared by all images, so the decoder runs once per grid
   point). If an image's joint has non-negligible mass in the grid's outermost ring, R grows
   until it does not. Keep the cells within ``select_nats`` of the image's largest value, and
   take their bounding box, widened by one cell on each side.
2. **Tighten.** On a 16 x 16 lattice over that box, keep the points within ``select_nats`` of
   the largest value again: their bounding box, widened by one step, is the final box.
3. **Refine.** Sum p(x, z) over a lattice of ``n_intervals`` steps per dimension on the box
   (a Riemann sum, which for a smooth integrand that vanishes at the box's faces converges
   faster than any power of the step). The same sum over every second lattice point is the
   estimate at twice the step; where the two differ by more than ``tol`` nats, the lattice is
   doubled, and where the box's faces still carry mass, the box grows. The returned value is
   the finer of two estimates that agree to ``tol``.

For the digits VAE of the book (M = 2) this gives all 450 test digits to about 1e-8 nats (a
float64 model; a float32 model's own rounding adds about 1e-5) in a few seconds. The model
follows :class:`~vae.latent_model.LatentModel`, with a ``log_joint(x, z)`` that broadcasts z
of shape [..., N or 1, M] against x [N, D] (as :class:`~vae.model.VAE` and
:class:`~vae.linear.LinearGaussian` do, through ``torch.distributions``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from vae.checks import check_positive_int
from vae.latent_model import MAX_ELEMENTS, LatentModel
from vae.quadrature.lattice import (
    NEGLIGIBLE,
    bounding_box,
    check_model,
    check_positive,
    lattice_sum,
    log_joint_chunked,
    product_grid,
)


def _locate(
    model: LatentModel,
    x: Tensor,
    radius: float,
    step: float,
    select_nats: float,
    max_radius: float,
    max_elements: int,
) -> tuple[Tensor, Tensor]:
    """Stage 1: per image the box [lo, hi] (each [N, M], float64) that holds its joint mass,
    from one coarse grid over [-R, R]^M shared by all images; R grows for the images whose
    mass reaches the grid's outermost ring."""
    n, m = x.shape[0], model.latent_dim
    lo = torch.empty(n, m, dtype=torch.float64)
    hi = torch.empty(n, m, dtype=torch.float64)
    todo = torch.arange(n)
    while todo.numel() > 0:
        half = max(2, math.ceil(radius / step))  # cells per half-axis
        grid = product_grid(
            (torch.arange(-half, half, dtype=torch.float64) + 0.5) * step, m
        )  # [G, M]
        log_f = log_joint_chunked(model, x[todo], grid[:, None, :], max_elements)  # [G, n]
        ring = (grid.abs() > (half - 1) * step).any(-1)
        ring_share = torch.logsumexp(log_f[ring], 0) - torch.logsumexp(log_f, 0)
        done = ring_share < NEGLIGIBLE
        if not done.all() and half * step * 1.5 > max_radius:
            raise RuntimeError(
                f"the joint of images {todo[~done][:10].tolist()} still has mass at "
                f"|z| = {half * step:g}; pass a larger max_radius"
            )
        keep = log_f >= log_f.max(0).values - select_nats
        box_lo, box_hi = bounding_box(grid[:, None, :], keep)
        lo[todo[done]] = box_lo[done] - 1.5 * step  # one more cell, plus half a cell
        hi[todo[done]] = box_hi[done] + 1.5 * step
        todo = todo[~done]
        radius = half * step * 1.5
    return lo, hi


def find_boxes(
    model: LatentModel,
    x: Tensor,
    radius: float,
    coarse_step: float,
    select_nats: float,
    max_radius: float,
    max_elements: int,
) -> tuple[Tensor, Tensor]:
    """Stages 1 and 2 of :func:`log_marginal_quadrature`: per image a box [lo, hi] (each
    [N, M], float64) that holds its joint mass."""
    lo, hi = _locate(model, x, radius, coarse_step, select_nats, max_radius, max_elements)
    k = 16
    z, log_f = lattice_sum(model, x, lo, hi, k, max_elements)[3:]
    margin = (hi - lo) / k
    lo, hi = bounding_box(z, log_f >= log_f.max(0).values - select_nats)
    return lo - margin, hi + margin


@torch.no_grad()
def log_marginal_quadrature(
    model: LatentModel,
    x: Tensor,
    *,
    tol: float = 1e-4,
    radius: float = 5.0,
    coarse_step: float = 0.25,
    n_intervals: int = 32,
    select_nats: float = 20.0,
    max_radius: float = 40.0,
    max_intervals: int = 1024,
    max_elements: int = MAX_ELEMENTS,
) -> Tensor:
    """log p(x) = log integral p(x, z) dz by adaptive quadrature, shape [N], float64, in nats.

    For a model with ``latent_dim`` M of 1 or 2 and a method ``log_joint(x, z)``: a
    :class:`~vae.model.VAE` (float32 or float64), a :class:`~vae.linear.LinearGaussian`, or
    any model whose ``log_joint`` broadcasts z [..., N or 1, M] against x [N, D]. See the
    module docstring for the method. Memory is bounded by evaluating the grids in chunks.

    Args:
        model: the model; x must have its dtype (the grid is evaluated in that dtype and summed
            in float64).
        x: data [N, D], finite.
        tol: accepted difference in nats between the estimates at step h and 2h. The returned
            estimate (step h) is far closer to log p(x) than that, because the error of the
            sum falls faster than any power of the step (about 1e-8 nats at the default).
        radius: half-width R of the first coarse grid [-R, R]^M over the prior's support; it
            grows by 1.5x (up to ``max_radius``) for images whose mass reaches its edge.
        coarse_step: the coarse grid's step. A peak is found as long as the step is a few of
            its standard deviations at most.
        n_intervals: first number of lattice steps per dimension on each image's box (even).
        select_nats: each box holds every grid point whose log p(x, z) is within this many
            nats of the image's largest value, and one step more on each side.
        max_radius, max_intervals: limits of the adaptation; a ``RuntimeError`` says when
            either is reached.
        max_elements: numbers per chunk of the evaluation (points x N x D x the decoder's
            outputs per pixel: :func:`~vae.latent_model.points_per_chunk`), to bound memory;
            the result does not depend on it beyond rounding.

    Raises:
        ValueError: for M > 2, bad shapes, a dtype other than the model's, non-finite x, or
            bad settings.
    """
    _, x = check_model(model, x)
    _check_settings(
        tol, radius, coarse_step, n_intervals, select_nats, max_radius, max_intervals, max_elements
    )
    lo, hi = find_boxes(model, x, radius, coarse_step, select_nats, max_radius, max_elements)
    return _refine(model, x, lo, hi, n_intervals, tol, max_radius, max_intervals, max_elements)


def _check_settings(
    tol: float,
    radius: float,
    coarse_step: float,
    n_intervals: int,
    select_nats: float,
    max_radius: float,
    max_intervals: int,
    max_elements: int,
) -> None:
    """Check the settings of :func:`log_marginal_quadrature`: a ``ValueError`` names a bad one."""
    for value, name in [(tol, "tol"), (radius, "radius"), (coarse_step, "coarse_step")]:
        check_positive(value, name)
    check_positive(select_nats, "select_nats")
    check_positive(max_radius, "max_radius")
    for count, name in [(n_intervals, "n_intervals"), (max_intervals, "max_intervals")]:
        check_positive_int(count, name)
    check_positive_int(max_elements, "max_elements")
    if n_intervals % 2:
        raise ValueError(f"n_intervals must be even, got {n_intervals}")
    if radius > max_radius:
        raise ValueError(f"radius ({radius:g}) must be <= max_radius ({max_radius:g})")


def _refine(
    model: LatentModel,
    x: Tensor,
    lo: Tensor,
    hi: Tensor,
    n_intervals: int,
    tol: float,
    max_radius: float,
    max_intervals: int,
    max_elements: int,
) -> Tensor:
    """Stage 3: double each box's lattice until the sums at h and 2h agree to ``tol`` and the
    box's faces carry no mass (a box whose faces do grows); log p(x) per image, float64 [N]."""
    n = x.shape[0]
    log_p = torch.empty(n, dtype=torch.float64)
    todo = torch.arange(n)
    k = n_intervals
    while todo.numel() > 0:
        if k > max_intervals:
            raise RuntimeError(
                f"no convergence to tol = {tol:g} nats with {max_intervals} steps per dimension "
                f"for images {todo[:10].tolist()}; raise max_intervals or tol"
            )
        fine, coarse, face_share = lattice_sum(model, x[todo], lo[todo], hi[todo], k, max_elements)[
            :3
        ]
        converged = (fine - coarse).abs() <= tol
        inside = face_share < NEGLIGIBLE
        done = converged & inside
        log_p[todo[done]] = fine[done]
        # a box whose faces carry mass grows by half around its centre; a box that holds
        # the mass but is not yet resolved gets twice the steps
        grow = todo[~inside]
        centre, half_width = (lo[grow] + hi[grow]) / 2, (hi[grow] - lo[grow]) / 2
        if (half_width > max_radius).any():
            raise RuntimeError(
                f"the joint of images {grow[:10].tolist()} still has mass at the faces of a "
                f"box wider than max_radius = {max_radius:g}"
            )
        lo[grow], hi[grow] = centre - 1.5 * half_width, centre + 1.5 * half_width
        if (~converged & inside).any():
            k *= 2
        todo = todo[~done]
    return log_p
