"""Small matplotlib helpers the chapters share: image grids and Gaussian ellipses."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse
from torch import Tensor

from vae.data import MAX_COUNT


def image_grid(x: Tensor, ncol: int = 10, side: int = 8, pad: int = 1) -> np.ndarray:
    """Tile the rows of ``x`` [N, side*side] into one 2-D array (``ncol`` images per row)."""
    images = torch.as_tensor(x).detach().cpu().reshape(-1, side, side).numpy()
    n = images.shape[0]
    nrow = -(-n // ncol)
    grid = np.full((nrow * (side + pad) - pad, ncol * (side + pad) - pad), np.nan)
    for i in range(n):
        r, c = divmod(i, ncol)
        grid[
            r * (side + pad) : r * (side + pad) + side, c * (side + pad) : c * (side + pad) + side
        ] = images[i]
    return grid


def show_images(
    x: Tensor,
    ncol: int = 10,
    ax: Axes | None = None,
    title: str | None = None,
    vmax: float = MAX_COUNT,
) -> Axes:
    """Show the rows of ``x`` [N, 64] as 8x8 images in a grid on ``ax`` (counts 0..``vmax``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(ncol * 0.45, 0.45 * -(-len(x) // ncol) + 0.3))
    ax.imshow(image_grid(x, ncol), cmap="Greys", vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def show_reconstructions_and_samples(
    ax_rec: Axes,
    ax_smp: Axes,
    x: Tensor,
    recon: Tensor,
    samples: Tensor,
    titles: tuple[str, str] = ("digits / reconstructions", "samples (decoder means)"),
) -> None:
    """Digits ``x`` [N, 64] above their reconstructions ``recon`` [N, 64] on ``ax_rec``, and
    ``samples`` [S, 64] in one row on ``ax_smp``."""
    show_images(torch.cat([x, recon]), ncol=len(x), ax=ax_rec, title=titles[0])
    show_images(samples, ncol=len(samples), ax=ax_smp, title=titles[1])


def gaussian_ellipse(
    ax: Axes, mean: Tensor, cov: Tensor, n_std: float = 2.0, **kwargs: object
) -> Ellipse:
    """Draw the ``n_std``-standard-deviation ellipse of N(mean, cov) in 2-D on ``ax``."""
    mean = torch.as_tensor(mean, dtype=torch.float64).cpu()
    cov = torch.as_tensor(cov, dtype=torch.float64).cpu()
    if mean.shape != (2,) or cov.shape != (2, 2):
        raise ValueError(
            f"need a 2-D mean and 2x2 cov, got {tuple(mean.shape)}, {tuple(cov.shape)}"
        )
    evals, evecs = torch.linalg.eigh(cov)
    angle = float(np.degrees(np.arctan2(float(evecs[1, 1]), float(evecs[0, 1]))))
    width, height = (2 * n_std * evals.clamp_min(0).sqrt().flip(0)).tolist()
    kwargs.setdefault("fill", False)
    ell = Ellipse(tuple(mean.tolist()), width, height, angle=angle, **kwargs)
    ax.add_patch(ell)
    return ell
