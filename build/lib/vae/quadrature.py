"""Exact log p(x) by quadrature, for models with a one- or two-dimensional latent space.

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
needs only ``latent_dim`` and ``log_joint(x, z, validate_args)`` that broadcasts z of shape
[..., N or 1, M] against x [N, D] (as :class:`~vae.model.VAE` and
:class:`~vae.linear.LinearGaussian` do, through ``torch.distributions``).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Distribution

from vae._checks import check_data, check_positive_int, check_q
from vae.linear import _as_mvn


class LatentModel(Protocol):
    """What :func:`log_marginal_quadrature` needs from a model."""

    latent_dim: int

    def log_joint(self, x: Tensor, z: Tensor, validate_args: bool | None = None) -> Tensor:
        """log p(x, z) for x [N, D] and z [..., N, M] (or [..., 1, M]) -> [..., N]; with
        ``validate_args=False``, without the distributions' checks."""
        ...


def _check_positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _model_and_data(model: LatentModel, x: Tensor, grid: bool = True) -> tuple[int, Tensor]:
    """The model's latent dimension M and ``x`` checked by the model (or as data); a
    ``ValueError`` if the model lacks ``latent_dim`` or ``log_joint``, or, for a ``grid``
    over z, if M > 2."""
    m = getattr(model, "latent_dim", None)
    if not hasattr(model, "log_joint") or m is None:
        raise ValueError("model must have a latent_dim and a log_joint(x, z) method")
    if grid and m not in (1, 2):
        raise ValueError(
            f"quadrature needs latent_dim 1 or 2 (the grid grows as n^M), got {m}; "
            "use vae.log_marginal_is for larger latent spaces"
        )
    check = getattr(model, "check_input", None)
    return m, (check(x) if check is not None else check_data(x))


def _log_joint_chunked(model: LatentModel, x: Tensor, z: Tensor, max_elements: int) -> Tensor:
    """log p(x, z) for z [P, N or 1, M] (float64) in chunks of points, as float64 [P, N]."""
    n, d = x.shape
    chunk = max(1, max_elements // (n * d))
    # no distribution checks: x was checked once, and the grid's z are finite by construction
    # (the checks cost about a quarter of each evaluation)
    out = [
        model.log_joint(x, part.to(x.dtype), validate_args=False).to(torch.float64).expand(-1, n)
        for part in z.split(chunk)
    ]
    return torch.cat(out)


def _grid(ticks: Tensor, m: int) -> Tensor:
    """All points of the product grid ticks^M, shape [len(ticks)^M, M]."""
    return torch.cartesian_prod(*[ticks] * m).reshape(-1, m)


def _bounding_box(points: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
    """Per image, the smallest box holding the kept points: points [P, n, M] (or [P, 1, M]),
    keep [P, n] -> lo, hi [n, M]."""
    inf = torch.tensor(math.inf, dtype=torch.float64)
    lo = torch.where(keep[..., None], points, inf).amin(0)
    hi = torch.where(keep[..., None], points, -inf).amax(0)
    return lo, hi


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
        grid = _grid((torch.arange(-half, half, dtype=torch.float64) + 0.5) * step, m)  # [G, M]
        log_f = _log_joint_chunked(model, x[todo], grid[:, None, :], max_elements)  # [G, n]
        ring = (grid.abs() > (half - 1) * step).any(-1)
        ring_share = torch.logsumexp(log_f[ring], 0) - torch.logsumexp(log_f, 0)
        done = ring_share < _NEGLIGIBLE
        if not done.all() and half * step * 1.5 > max_radius:
            raise RuntimeError(
                f"the joint of images {todo[~done][:10].tolist()} still has mass at "
                f"|z| = {half * step:g}; pass a larger max_radius"
            )
        keep = log_f >= log_f.max(0).values - select_nats
        box_lo, box_hi = _bounding_box(grid[:, None, :], keep)
        lo[todo[done]] = box_lo[done] - 1.5 * step  # one more cell, plus half a cell
        hi[todo[done]] = box_hi[done] + 1.5 * step
        todo = todo[~done]
        radius = half * step * 1.5
    return lo, hi


def _lattice_sum(
    model: LatentModel, x: Tensor, lo: Tensor, hi: Tensor, k: int, max_elements: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Riemann sums of p(x, z) on a lattice of k steps per dimension over each image's box.

    Returns log of the sum at step h and at step 2h (every second point), each [n], the
    share of the mass on the box's faces [n], and the lattice points with their log p(x, z)
    (for tightening the box): z [P, n, M], log_f [P, n].
    """
    m = lo.shape[1]
    ticks = _grid(torch.arange(k + 1, dtype=torch.float64), m)  # [P, M] in 0..k
    step = (hi - lo) / k  # [n, M]
    z = lo + ticks[:, None, :] * step  # [P, n, M]
    log_f = _log_joint_chunked(model, x, z, max_elements)  # [P, n]
    total = torch.logsumexp(log_f, 0)
    fine = total + step.log().sum(-1)
    even = (ticks % 2 == 0).all(-1)
    coarse = torch.logsumexp(log_f[even], 0) + (2 * step).log().sum(-1)
    face = ((ticks == 0) | (ticks == k)).any(-1)
    face_share = torch.logsumexp(log_f[face], 0) - total
    return fine, coarse, face_share, z, log_f


def _boxes(
    model: LatentModel,
    x: Tensor,
    radius: float,
    coarse_step: float,
    select_nats: float,
    max_radius: float,
    max_elements: int,
) -> tuple[Tensor, Tensor]:
    """Stages 1 and 2: per image a box [lo, hi] (each [N, M]) that holds its joint mass."""
    lo, hi = _locate(model, x, radius, coarse_step, select_nats, max_radius, max_elements)
    k = 16
    *_, z, log_f = _lattice_sum(model, x, lo, hi, k, max_elements)
    margin = (hi - lo) / k
    lo, hi = _bounding_box(z, log_f >= log_f.max(0).values - select_nats)
    return lo - margin, hi + margin


#: A share of the mass (as a log) below which a region is ignored: e^-20, about 2e-9.
_NEGLIGIBLE = -20.0


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
    max_elements: int = 2**23,
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
        max_elements: numbers per chunk of the evaluation (points x N x D), to bound memory.

    Raises:
        ValueError: for M > 2, bad shapes, a dtype other than the model's, non-finite x, or
            bad settings.
    """
    m, x = _model_and_data(model, x)
    tol = _check_positive(tol, "tol")
    radius = _check_positive(radius, "radius")
    coarse_step = _check_positive(coarse_step, "coarse_step")
    select_nats = _check_positive(select_nats, "select_nats")
    max_radius = _check_positive(max_radius, "max_radius")
    n_intervals = check_positive_int(n_intervals, "n_intervals")
    max_intervals = check_positive_int(max_intervals, "max_intervals")
    max_elements = check_positive_int(max_elements, "max_elements")
    if n_intervals % 2:
        raise ValueError(f"n_intervals must be even, got {n_intervals}")
    if radius > max_radius:
        raise ValueError(f"radius ({radius:g}) must be <= max_radius ({max_radius:g})")

    lo, hi = _boxes(model, x, radius, coarse_step, select_nats, max_radius, max_elements)
    # 3. refine: double the lattice until the sums at h and 2h agree and the faces are empty
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
        fine, coarse, face_share, *_ = _lattice_sum(
            model, x[todo], lo[todo], hi[todo], k, max_elements
        )
        converged = (fine - coarse).abs() <= tol
        inside = face_share < _NEGLIGIBLE
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


def _gauss_hermite(n_nodes: int, m: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Nodes u [n^M, M] and weights w [n^M] with sum_i w_i f(u_i) ~ E[f(u)], u ~ N(0, I_M)."""
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)  # weight exp(-t^2 / 2)
    t = torch.as_tensor(t, dtype=torch.float64)
    w = torch.as_tensor(w / math.sqrt(2 * math.pi), dtype=torch.float64)
    nodes = _grid(t, m)
    weights = _grid(w, m).prod(-1)
    return nodes.to(dtype), weights.to(dtype)


def elbo_quadrature(model: LatentModel, x: Tensor, q: Distribution, n_nodes: int = 16) -> Tensor:
    """The ELBO E_q[log p(x, z)] + H[q] of a Gaussian q, by Gauss-Hermite quadrature: [N].

    ``q`` is a diagonal (``Independent(Normal)``) or full-covariance (``MultivariateNormal``)
    Gaussian with batch shape [N] and event shape [M]. The expectation uses the tensor product
    of ``n_nodes`` Gauss-Hermite nodes per dimension (n_nodes^M evaluations of log p(x, z) per
    image), which is exact for a log p(x, z) that is a polynomial of degree < 2 n_nodes in z and
    deterministic, unlike :meth:`vae.model.VAE.elbo`. The result has x's dtype and is
    differentiable with respect to q's parameters, so it can be maximized.

    Raises:
        ValueError: for bad shapes or a q that is not Gaussian, or n_nodes^M above 2^16.
    """
    m, x = _model_and_data(model, x, grid=False)
    n_nodes = check_positive_int(n_nodes, "n_nodes")
    if n_nodes**m > 2**16:
        raise ValueError(f"n_nodes^M = {n_nodes}^{m} nodes per image is too many")
    check_q(q, x.shape[0], m)
    scale_tril = _as_mvn(q).scale_tril  # diagonal or full Gaussian, [N, M, M]
    nodes, weights = _gauss_hermite(n_nodes, m, x.dtype)
    z = q.mean + torch.einsum("nij,pj->pni", scale_tril, nodes)  # [P, N, M]
    # no distribution checks: x was checked above; z is finite where q's parameters are
    log_joint = model.log_joint(x, z, validate_args=False)
    expected = torch.einsum("p,pn->n", weights, log_joint)
    return expected + q.entropy()


class PosteriorGrid(NamedTuple):
    """The exact posterior p(z|x) on a lattice per image: points and the mass of their cells."""

    z: Tensor
    """Lattice points, [P, N, M], float64."""
    log_mass: Tensor
    """log of p(z|x) times the cell's area at each point, [P, N], float64; logsumexp over P
    is 0 up to the quadrature's error."""


@torch.no_grad()
def posterior_grid(model: LatentModel, x: Tensor, n_intervals: int = 64) -> PosteriorGrid:
    """The posterior p(z|x) = p(x, z) / p(x) of each image on a lattice of ``n_intervals``
    steps per dimension over the box that :func:`log_marginal_quadrature` finds for it.

    Sums of ``log_mass.exp()`` over a region are its posterior probability, e.g. the share of
    the mass near one mode. Raises ``ValueError`` for M > 2 and bad inputs.
    """
    m, x = _model_and_data(model, x)
    k = check_positive_int(n_intervals, "n_intervals")
    lo, hi = _boxes(model, x, 5.0, 0.25, 20.0, 40.0, 2**23)
    fine, _, _, z, log_f = _lattice_sum(model, x, lo, hi, k, 2**23)
    log_cell = ((hi - lo) / k).log().sum(-1)
    return PosteriorGrid(z, log_f + log_cell - fine)


def largest_basin_share(grid: PosteriorGrid) -> Tensor:
    """The posterior mass in the basin of attraction of the largest mode, per image: [N].

    Every lattice point of ``grid`` climbs to its highest neighbour (of the 3^M around it)
    until it reaches a local maximum of p(z|x); the points that reach the same maximum form
    its basin. A share near 1 means p(z|x) has, in effect, a single mode.
    """
    log_mass = grid.log_mass
    n_points, n = log_mass.shape
    m = grid.z.shape[-1]
    side = round(n_points ** (1 / m))
    if side**m != n_points:
        raise ValueError("grid must come from posterior_grid (a square lattice)")
    values = log_mass.T.reshape(n, 1, *[side] * m)  # [N, 1, side(, side)]
    pool = torch.nn.functional.max_pool2d if m == 2 else torch.nn.functional.max_pool1d
    _, up = pool(values, 3, stride=1, padding=1, return_indices=True)
    up = up.reshape(n, -1)  # index of the highest neighbour (or the point itself)
    for _ in range(2 * side):
        nxt = up.gather(1, up)
        if torch.equal(nxt, up):
            break
        up = nxt
    share = torch.zeros(n, n_points, dtype=log_mass.dtype)
    share.scatter_add_(1, up, log_mass.T.exp())
    return share.max(1).values
