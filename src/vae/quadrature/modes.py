"""Mode search on a posterior lattice: how much of p(z|x) lies in its largest mode's basin."""

from __future__ import annotations

import torch
from torch import Tensor

from vae.quadrature.posterior import PosteriorGrid


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
