"""The class explorer of the conditional VAE: one precomputed picture per class, switched by the
label's toggle buttons."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from vae import ConditionalVAE
from vae.plot import image_grid
from vae.widgets import class_explorer
from vae.widgets.conditional import grid_png


@pytest.fixture(scope="module")
def model():
    return ConditionalVAE(latent_dim=2, hidden=(16,), seed=1)


def test_class_explorer_shows_the_decoded_grid_of_the_chosen_class(model):
    numbers = [[("class", str(c))] for c in range(10)]
    ex = class_explorer(model, n=3, numbers=numbers, initial=4)
    images = ex.results["images"]
    assert images.shape == (10, 9, 64) and ex.results["z"].shape == (9, 2)
    # the grid is the same for every class; its first point is the top-left corner
    torch.testing.assert_close(ex.results["z"][0], torch.tensor([-2.0, 2.0]))
    torch.testing.assert_close(images[7], model.sample(torch.full((9,), 7), z=ex.results["z"]))
    (shown,) = ex.visible_leaves()
    assert "y = 4" in shown.value and "<td" in shown.value
    ex.select(y=7)
    (shown,) = ex.visible_leaves()
    assert "y = 7" in shown.value
    assert shown.value.count("<img") == 1 and "image-rendering:pixelated" in shown.value


def test_grid_png_draws_one_pixel_per_image_pixel_ink_dark_and_gaps_pale():
    x = torch.linspace(0, 16, 4 * 64).reshape(4, 64).round()
    png = np.asarray(Image.open(io.BytesIO(grid_png(x, ncol=2))).convert("L")).astype(float)
    grid = image_grid(x, ncol=2)
    assert png.shape == grid.shape == (17, 17)
    inside = ~np.isnan(grid)
    # counts 0..16 map to grey 255..0 (within the colormap's 256 levels)
    assert np.abs(png[inside] - 255 * (1 - grid[inside] / 16)).max() <= 2
    assert (png[~inside] == 225).all()


def test_class_explorer_needs_a_two_dimensional_latent_space():
    with pytest.raises(ValueError, match="latent_dim 2"):
        class_explorer(ConditionalVAE(latent_dim=3, hidden=(8,)))
