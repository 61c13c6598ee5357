"""The exact posterior p(z|x) = p(x, z) / p(x) on a lattice, for M <= 2."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from vae.checks import check_positive_int
from vae.latent_model import MAX_ELEMENTS, LatentModel
from vae.quadrature.adaptive import find_boxes
from vae.quadrature.lattice import check_model, lattice_sum


class PosteriorGrid(NamedTuple):
    """The exact posterior p(z|x) on a lattice per image: points and the mass of their cells."""

    z: Tensor
    """Lattice points, [P, N, M], float64."""
    log_mass: Tensor
    """log of p(z|x) times the cell's area at each point, [P, N], float64; logsumexp over P
    is 0 up to the quadrature's error."""


@torch.no_grad()
def posterior_grid(
    model: LatentModel, x: Tensor, n_intervals: int = 64, max_elements: int = MAX_ELEMENTS
) -> PosteriorGrid:
    """The posterior p(z|x) = p(x, z) / p(x) of each image on a lattice of ``n_intervals``
    steps per dimension over the box that :func:`~vae.quadrature.log_marginal_quadrature`
    finds for it.

    Sums of ``log_mass.exp()`` over a region are its posterior probability, e.g. the share of
    the mass near one mode. ``max_elements`` bounds the numbers in one chunk of the evaluation
    of log p(x, z), as in :func:`~vae.quadrature.log_marginal_quadrature`. Raises
    ``ValueError`` for M > 2 and bad inputs.
    """
    _, x = check_model(model, x)
    k = check_positive_int(n_intervals, "n_intervals")
    max_elements = check_positive_int(max_elements, "max_elements")
    lo, hi = find_boxes(model, x, 5.0, 0.25, 20.0, 40.0, max_elements)
    sums = lattice_sum(model, x, lo, hi, k, max_elements)
    fine, z, log_f = sums.fine, sums.z, sums.log_f
    log_cell = ((hi - lo) / k).log().sum(-1)
    return PosteriorGrid(z, log_f + log_cell - fine)
