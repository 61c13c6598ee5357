"""The chapter-7 explorers: rate + distortion = -ELBO, one leaf per state, decoded digits that
match the model, and refusal of models they cannot show."""

from __future__ import annotations

import re

import pytest
import torch

from vae import widgets as W
from vae.data import load_digits
from vae.model import VAE
from vae.plot import image_grid_png
from vae.train import fit

X, XT = load_digits("train")[:400], load_digits("test")[:40]


@pytest.fixture(scope="module")
def beta_models():
    models = {}
    for beta in (0.5, 4.0):
        models[beta] = VAE(latent_dim=2, hidden=(16,), likelihood="categorical", seed=0)
        fit(models[beta], X, epochs=3, lr=5e-3, beta=beta, progress=False, device="cpu")
    return models


@pytest.fixture(scope="module")
def model2():
    return VAE(latent_dim=2, hidden=(16,), likelihood="categorical", seed=1)


def test_beta_results_split_the_negative_elbo_into_rate_and_distortion(beta_models):
    res = W.beta_results(beta_models, XT, k=10, n_eval=20, n_show=4)
    assert list(res) == [0.5, 4.0]
    for beta, r in res.items():
        torch.manual_seed(0)
        with torch.no_grad():
            terms = beta_models[beta].elbo_terms(XT[:20], n_samples=10)
        torch.testing.assert_close(r.rate, terms.kl.mean().item(), rtol=1e-5, atol=1e-5)
        distortion = -terms.log_likelihood.mean().item()
        torch.testing.assert_close(r.distortion, distortion, rtol=1e-5, atol=1e-5)
        assert r.rate >= 0 and r.elbo == pytest.approx(-(r.rate + r.distortion))
        assert r.recon.shape == r.samples.shape == (4, 64)
        assert 0 <= r.active <= 2


def test_beta_explorer_has_one_figure_per_beta_and_switches_without_python(beta_models):
    e = W.beta_explorer(beta_models, XT, k=10, n_eval=20)
    assert len(list(W.all_states(e))) == 2 and len(e.links) == len(e.stacks) == 2
    e.select(beta=0)
    first = [leaf.value for leaf in e.visible_leaves()]
    e.select(beta=1)
    second = [leaf.value for leaf in e.visible_leaves()]
    assert first[0] != second[0] and first[1] != second[1]
    assert "\u03b2 = 4" in second[0] and "<img" in second[1]


def test_decode_grid_is_the_decoder_mean_at_each_grid_point(model2):
    values = torch.tensor([-1.0, 0.0, 2.0])
    grid = W.manifold.decode_grid(model2, values)
    assert grid.shape == (3, 3, 64)
    with torch.no_grad():
        at = model2.decode(torch.tensor([[2.0, -1.0]])).mean[0]  # z1 = 2, z2 = -1
    torch.testing.assert_close(grid[0, 2], at)


def test_latent_point_explorer_shows_the_digit_at_the_chosen_z(model2):
    e = W.latent_point_explorer(model2, torch.linspace(-1, 1, 3))
    assert len(list(W.all_states(e))) == 9
    e.select(z1=2, z2=0)
    (leaf,) = e.visible_leaves()
    assert "z = (+1.00, \u22121.00)" in leaf.value
    assert W.manifold.digit_png(e.results["grid"][0, 2]) in _png_payloads(leaf.value)
    leaves = [child for stack in e.trees for child in stack.children[0].children]
    assert len(leaves) == 3 and len({id(leaf.layout) for leaf in leaves}) == 1  # one shared model


def test_interpolation_path_runs_from_one_posterior_mean_to_the_other(model2):
    e = W.interpolation_explorer(model2, XT[:3], [(0, 2)], names=["a", "b", "c"], steps=5)
    path = e.results["path"][0, 2]
    with torch.no_grad():
        ends = model2.decode(model2.encode(XT[[0, 2]]).mean).mean
    torch.testing.assert_close(path[[0, -1]], ends)
    assert len(list(W.all_states(e))) == 5


def test_latent_space_views_refuse_other_latent_dims_and_mismatched_names(model2):
    m3 = VAE(latent_dim=3, hidden=(8,))
    with pytest.raises(ValueError, match="latent_dim 2"):
        W.latent_point_explorer(m3)
    with pytest.raises(ValueError, match="latent_dim 2"):
        W.manifold_figure(m3, XT, torch.zeros(len(XT)))
    with pytest.raises(ValueError, match="one name per digit"):
        W.interpolation_explorer(model2, XT[:3], [(0, 1)], names=["a"])
    with pytest.raises(ValueError, match="trained models"):
        W.beta_explorer()
    with pytest.raises(ValueError, match="digits and their labels"):
        W.latent_point_explorer(model2, x=XT[:5])
    with pytest.raises(ValueError, match="one label per digit"):
        W.interpolation_explorer(
            model2, XT[:2], [(0, 1)], names=["a", "b"], x_scatter=XT[:5], labels=torch.zeros(4)
        )


def test_latent_point_explorer_marks_the_chosen_z_on_the_scatter_of_posterior_means(model2):
    labels = torch.arange(len(XT)) % 10
    e = W.latent_point_explorer(model2, torch.linspace(-1, 1, 3), x=XT, labels=labels)
    header = e.widget.children[0].value
    assert header.count("<style>") == 1 and "background: url(data:image/png;base64," in header
    crosses = set()
    for state in W.all_states(e):
        e.select(**state)
        (leaf,) = e.visible_leaves()
        assert "role='img'" in leaf.value and "<svg" in leaf.value
        assert "data:image/png" in leaf.value  # the digit; the scatter is the header's
        assert len(leaf.value) < 3000  # the scatter picture is not repeated per state
        crosses.add(re.search(r"<path d='([^']+)'", leaf.value).group(1))
    assert len(crosses) == 9  # one place per z
    # z1 grows to the right, z2 upwards (SVG y grows downwards)
    e.select(z1=0, z2=0)
    x0, y0 = _cross(e)
    e.select(z1=2, z2=2)
    x1, y1 = _cross(e)
    assert x1 > x0 and y1 < y0


def _cross(e) -> tuple[float, float]:
    (leaf,) = e.visible_leaves()
    d = re.search(r"<path d='M([\d.-]+) ([\d.-]+)L", leaf.value)
    return float(d.group(1)), float(d.group(2))


def test_interpolation_shows_every_frame_and_the_line_in_z(model2):
    labels = torch.arange(len(XT)) % 10
    e = W.interpolation_explorer(
        model2, XT[:3], [(0, 2)], names=["a", "b", "c"], steps=5, x_scatter=XT, labels=labels
    )
    z = e.results["z"][0, 2]
    with torch.no_grad():
        mu = model2.encode(XT[[0, 2]]).mean
    torch.testing.assert_close(z[[0, -1]], mu)
    e.select(t=3)
    ends, path = e.visible_leaves()
    assert path.value.count("frame ") == 5 and path.value.count("solid #d62728") == 1
    assert "<line " in path.value and "t = 0.75" in path.value


def _png_payloads(html: str) -> list[bytes]:
    import base64
    import re

    return [base64.b64decode(m) for m in re.findall(r"base64,([A-Za-z0-9+/=]+)", html)]


def test_beta_explorer_digits_are_pixel_exact_grids_48_px_per_digit(beta_models):
    """Reconstructions and samples as pixel-exact grids enlarged 6 times without smoothing (an
    8x8 digit 48 CSS px wide, shrinking with a narrower column), not a blurred figure."""
    res = W.beta_results(beta_models, XT, k=10, n_eval=20, n_show=4)
    e = W.beta_explorer(x_test=XT, results=res)
    e.select(beta=1)
    _, images = e.visible_leaves()
    r = res[4.0]
    grids = [image_grid_png(torch.cat([XT[:4], r.recon]), ncol=4), image_grid_png(r.samples, 4)]
    assert _png_payloads(images.value)[-2:] == grids
    for tag in re.findall(r"<img [^>]*>", images.value)[-2:]:
        assert 'width="210"' in tag and "image-rendering:pixelated" in tag  # (4 * 9 - 1) * 6


def test_interpolation_strip_is_one_row_of_48_px_frames_that_shrink_together(model2):
    e = W.interpolation_explorer(model2, XT[:2], [(0, 1)], names=["a", "b"], steps=9)
    _, path = e.visible_leaves()
    strip = path.value[path.value.index("class='vae-strip'") :]
    assert "display:flex" in strip[:80] and "flex-wrap" not in strip[:80]
    assert strip.count("flex:0 1 48px;min-width:0") == 9
    assert strip.count('width="48" height="48"') == 9
