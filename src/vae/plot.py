"""Small helpers the chapters and explorers share: image grids (matplotlib, or a pixel-exact
PNG) and Gaussian ellipses."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse
from PIL import Image
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


GAP_GREY = 225
"""The grey (0 black, 255 white) of the gaps between the images of :func:`image_grid_png`."""


def image_grid_png(x: Tensor, ncol: int = 10, pad: int = 1, vmax: float = MAX_COUNT) -> bytes:
    """Images of counts ``x`` [N, 64] tiled ``ncol`` to a row (:func:`image_grid`) as a greyscale
    PNG with one pixel per image pixel: counts 0..``vmax`` from white to black, the ``pad``-pixel
    gaps pale grey (:data:`GAP_GREY`). A page enlarges it without smoothing (CSS
    ``image-rendering: pixelated``); a few hundred bytes."""
    grid = image_grid(x, ncol=ncol, pad=pad)  # NaN in the gaps
    gaps = np.isnan(grid)
    grey = 255 * (1 - np.clip(np.nan_to_num(grid), 0, vmax) / vmax)
    grey[gaps] = GAP_GREY
    out = io.BytesIO()
    Image.fromarray(grey.round().astype(np.uint8), mode="L").save(out, format="png", optimize=True)
    return out.getvalue()


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
