"""Quadrature over a one- or two-dimensional latent space: nothing estimated, nothing sampled.

* ``adaptive`` -- :func:`log_marginal_quadrature`, exact log p(x) by an adaptive Riemann sum
  of p(x, z) over z (the method is in that module's docstring);
* ``gauss_hermite`` -- :func:`elbo_quadrature`, the ELBO of a Gaussian q by Gauss-Hermite
  quadrature, deterministic and differentiable;
* ``posterior`` -- :func:`posterior_grid`, p(z|x) on a lattice;
* ``modes`` -- :func:`largest_basin_share`, the mass of the largest mode;
* ``lattice`` -- the grids and sums they share.

The model follows :class:`~vae.latent_model.LatentModel`: :class:`~vae.model.VAE` and
:class:`~vae.linear.LinearGaussian` both do.
"""

from vae.quadrature.adaptive import log_marginal_quadrature
from vae.quadrature.gauss_hermite import elbo_quadrature
from vae.quadrature.modes import largest_basin_share
from vae.quadrature.posterior import PosteriorGrid, posterior_grid

__all__ = [
    "PosteriorGrid",
    "elbo_quadrature",
    "largest_basin_share",
    "log_marginal_quadrature",
    "posterior_grid",
]
