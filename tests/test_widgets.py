"""Unit tests for vae.widgets: exact numbers, the stack/link structure, determinism."""

from __future__ import annotations

import base64
import re

import ipywidgets as widgets
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from vae import widgets as W
from vae.data import load_digits
from vae.model import VAE
from vae.plot import image_grid_png
from vae.train import fit
from vae.widgets.render import png_bytes, png_width, smallest_text_px


@pytest.fixture(scope="module")
def digits64():
    return load_digits("train", dtype=torch.float64), load_digits("test", dtype=torch.float64)


@pytest.fixture(scope="module")
def kl_explorer(digits64):
    x_train, x_test = digits64
    return W.kl_gap_explorer(
        x_train, x_test, latent_dims=(1, 2, 8), scales=(0.5, 1.0, 2.0), indices=(0, 5)
    )


def test_kl_gap_results_exact_identity(digits64):
    x_train, x_test = digits64
    res = W.kl_gap_results(x_train, x_test[:4], [1, 3, 16], [0.5, 1.0, 2.0])
    for r in res.values():
        np.testing.assert_allclose(r.elbo + r.gap, r.log_px, rtol=0, atol=1e-9)
        assert (r.gap >= -1e-12).all()
        assert r.log_px.shape == (4,)
        # the gap does not depend on x in the linear-Gaussian model (shared posterior cov)
        np.testing.assert_allclose(r.gap, r.gap[0], atol=1e-9)
    for m in (1, 3, 16):
        best = res[(m, "best diagonal q", 1.0)].gap
        np.testing.assert_allclose(res[(m, "scaled std", 1.0)].gap, best, atol=1e-12)
        assert (res[(m, "marginal variances", 1.0)].gap >= best - 1e-12).all()
        assert (res[(m, "scaled std", 0.5)].gap > best).all()
        assert (res[(m, "scaled std", 2.0)].gap > best).all()
    np.testing.assert_allclose(res[(1, "best diagonal q", 1.0)].gap, 0, atol=1e-12)
    assert res[(16, "best diagonal q", 1.0)].gap[0] > 0.1  # rotated: correlated posterior


def test_kl_explorer_structure_and_links(kl_explorer):
    e = kl_explorer
    assert set(e.controls) == {"M", "q", "scale"}
    # M x (best, marginal, 3 scales) leaves
    assert len(list(W.all_states(e))) == 3 * 3 * 3
    targets = {id(s) for _, s in e.stacks}
    for link in e.links:
        assert isinstance(link, widgets.widget_link.DirectionalLink)
        assert link.source[1] == "index" and link.target[1] == "selected_index"
        assert id(link.target[0]) in targets
        assert any(link.source[0] is c for c in e.controls.values())
    assert len(e.links) == len(e.stacks)


def test_kl_explorer_every_state_shows_its_own_leaf(kl_explorer):
    e = kl_explorer
    seen = {}
    for state in W.all_states(e):
        e.select(**state)
        (leaf,) = e.visible_leaves()
        assert '<img src="data:image/png;base64,' in leaf.value and "alt=" in leaf.value
        m = e.controls["M"].options[state["M"]]
        assert f"M = {m}," in leaf.value
        q = W.Q_CHOICES[state["q"]]
        key = (m, q, e.controls["scale"].value if q == "scaled std" else 1.0)
        seen.setdefault(key, leaf)
        assert seen[key] is leaf  # the same state always shows the same leaf
    assert len(seen) == 3 * (2 + 3)


def _images(html_text: str) -> list[bytes]:
    return [
        base64.b64decode(d) for d in re.findall(r'src="data:image/png;base64,([^"]+)"', html_text)
    ]


def _table_gaps(html_text: str) -> list[str]:
    return re.findall(r"gap = ([\u2212\d.]+)", html_text)


def test_kl_explorer_pictures_differ_when_numbers_do_and_agree_with_the_table(kl_explorer):
    """For every control, states with different numbers show different pictures (the "marginal
    variances" q once showed the "best diagonal q" picture): a picture always goes with the same
    numbers, and the gaps written in the figure's description are the table's."""
    e = kl_explorer
    numbers_of_picture: dict[bytes, tuple] = {}
    for state in W.all_states(e):
        e.select(**state)
        (leaf,) = e.visible_leaves()
        pictures = _images(leaf.value)
        assert len(pictures) == 2  # the bars and q against the posterior
        gaps = tuple(_table_gaps(leaf.value))
        assert len(gaps) == len(e.results[next(iter(e.results))].gap)
        numbers = (e.controls["M"].options[state["M"]], gaps)
        for picture in pictures:
            numbers_of_picture.setdefault(picture, numbers)
            assert numbers_of_picture[picture] == numbers, f"{state}: a picture of other numbers"
        alt = re.search(r'alt="[^"]*gaps ([^"]*) nats', leaf.value).group(1)
        assert alt.split(", ") == list(gaps), "the figure's gaps are rounded like the table's"
    # marginal variances differ from the best diagonal q wherever their numbers do
    for m in e.controls["M"].options:
        best = e.results[(m, "best diagonal q", 1.0)].gap
        marginal = e.results[(m, "marginal variances", 1.0)].gap
        if np.abs(best - marginal).max() > 1e-3:
            e.select(M=e.controls["M"].options.index(m), q=0)
            (b,) = e.visible_leaves()
            e.select(q=1)
            (mv,) = e.visible_leaves()
            assert _images(b.value) != _images(mv.value), f"M = {m}: marginal q shows the best q"


def test_explorer_figures_are_sharp_256_colour_and_wrap(kl_explorer):
    """Rendered at twice the size they are shown at, as 256-colour PNGs (the palette that
    ``test_png_bytes_palette_looks_like_...`` compares with RGB), as panels in a row that wraps
    on a narrow screen."""
    (leaf,) = kl_explorer.visible_leaves()
    assert "flex-wrap:wrap" in leaf.value
    for png, width in zip(
        _images(leaf.value), re.findall(r'<img [^>]*width="(\d+)"', leaf.value), strict=True
    ):
        assert png_width(png) == 2 * int(width)
        assert png[25] == 3, "PNG colour type 3 (a palette)"
        palette = png[png.index(b"PLTE") - 4 : png.index(b"PLTE")]
        assert 64 < int.from_bytes(palette, "big") // 3 <= 256, "more colours than 64"


def test_kl_explorer_marks_the_std_slider_as_scaled_q_only(kl_explorer):
    scale, q = kl_explorer.controls["scale"], kl_explorer.controls["q"]
    assert "vae-control-q" in q._dom_classes
    assert f"vae-enabled-by-q-{W.Q_CHOICES.index('scaled std')}" in scale._dom_classes


def test_png_bytes_palette_looks_like_the_full_colour_render_at_a_fraction_of_the_size():
    """Text, coloured lines and a greyscale image (what the explorers draw): 256 colours keep
    every pixel within 16 of 255 of the RGB rendering, so anti-aliased edges stay smooth."""
    import io

    import numpy as np
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=(4, 2), dpi=144)
    ax_lines, ax_image = fig.subplots(1, 2)
    for k, colour in enumerate(("#4c72b0", "#dd8452", "#55a868", "#c44e52")):
        ax_lines.plot(np.linspace(0, 1, 50) ** (k + 1), color=colour, lw=2, label=f"k = {k}")
    ax_lines.legend(fontsize=7)
    ax_lines.set_title("ELBO and log p(x), nats", fontsize=9)
    ax_image.imshow(np.random.default_rng(0).integers(0, 17, (8, 8)), cmap="gray_r")
    palette, rgb = png_bytes(fig), png_bytes(fig, colors=None)
    assert palette[25] == 3 and rgb[25] == 2  # PNG colour types: palette, RGB
    assert len(palette) < 0.6 * len(rgb)

    def pixels(png: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)

    assert np.abs(pixels(palette) - pixels(rgb)).max() <= 16


@pytest.fixture(scope="module")
def small_models():
    """Two briefly trained VAEs (M = 1, 2): the explorer evaluates models, it never trains."""
    x_train = load_digits("train")
    models = {}
    for m in (2, 1):  # out of order: the results come back sorted by M
        models[m] = VAE(latent_dim=m, seed=0)
        fit(models[m], x_train, epochs=2, progress=False, device="cpu")
    return models


@pytest.fixture(scope="module")
def small_latent(small_models):
    kwargs = dict(ks=(1, 10), n_eval=16, n_show=4)
    return kwargs, W.latent_dim_results(small_models, **kwargs)


def test_latent_results_deterministic_and_consistent(small_models, small_latent):
    kwargs, res = small_latent
    params = {m: [p.clone() for p in model.parameters()] for m, model in small_models.items()}
    again = W.latent_dim_results(small_models, **kwargs)
    assert list(res) == [1, 2]
    for m, r in res.items():
        assert r.elbo == again[m].elbo and r.log_px == again[m].log_px
        assert r.kl_per_dim.shape == (m,) and r.active.shape == (m,)
        assert r.gap(10) == pytest.approx(r.log_px[10] - r.elbo)
        torch.manual_seed(0)  # the ELBO the explorer shows is the model's, same draws
        with torch.no_grad():
            elbo = small_models[m].elbo(load_digits("test")[:16], n_samples=100).mean().item()
        assert r.elbo == pytest.approx(elbo, abs=1e-4)
        assert r.recon.shape == (4, 64) and r.samples.shape == (4, 64)
        assert np.isfinite([r.elbo, *r.log_px.values()]).all()
        for p, p0 in zip(small_models[m].parameters(), params[m], strict=True):
            assert torch.equal(p, p0)  # evaluated, not trained


def test_latent_explorer(small_latent):
    _, res = small_latent
    e = W.latent_dim_explorer(ks=(1, 10), results=res)
    assert set(e.controls) == {"M", "K"}
    shown = set()
    for r in res.values():  # one criterion: mean KL to the prior >= 0.05 nats
        np.testing.assert_array_equal(r.active, r.kl_per_dim >= W.latent.ACTIVE_MIN_KL)
    for state in W.all_states(e):
        e.select(**state)
        numbers, image = e.visible_leaves()
        assert "held-out ELBO" in numbers.value and "<img " in image.value
        assert "min-height" in numbers.value  # no jump of the figures when K changes
        assert "active units (KL \u2265 0.05 nats)" in numbers.value
        shown.add((numbers.value, image.value))
    assert len(shown) == 4


def test_latent_explorer_needs_models():
    with pytest.raises(ValueError, match="trained models"):
        W.latent_dim_explorer()


def _tiny_explorer() -> W.Explorer:
    controls = {
        "a": widgets.SelectionSlider(options=["x", "y", "z"], value="y", description="a"),
        "b": widgets.ToggleButtons(options=["p", "q"], value="p"),
    }
    panel = W.Panel(["a", "b"], lambda s: widgets.HTML(f"a={s['a']} b={s['b']}"))
    return W.make_explorer(controls, [panel], header=widgets.HTML("tiny"))


def test_without_ipywidgets_stack_the_switches_are_tabs_whose_bar_the_explorer_hides(monkeypatch):
    """ipywidgets 7 (Colab's manager) has no Stack: the same explorer is built from Tabs, linked
    the same way, and carries the CSS that hides their tab bars (no kernel callback needed)."""
    from vae.widgets import stack

    monkeypatch.setattr(stack, "HAS_STACK", False)
    monkeypatch.setattr(stack, "_Switch", widgets.Tab)
    e = _tiny_explorer()
    assert all(type(box) is widgets.Tab for _, box in e.stacks)
    assert all(stack.SWITCH_CLASS in box._dom_classes for _, box in e.stacks)
    style = e.widget.children[0]
    assert style.value == stack.SWITCH_STYLE and style.layout.display == "none"
    assert ".vae-switch > .widget-tab-bar" in style.value  # ipywidgets 7's tab bar class
    for link in e.links:
        assert link.target[1] == "selected_index"
    e.select(a=2, b=1)
    assert [leaf.value for leaf in e.visible_leaves()] == ["a=2 b=1"]


def test_with_ipywidgets_stack_the_switches_are_stacks_and_no_css_is_added():
    from vae.widgets import stack

    if not stack.HAS_STACK:
        pytest.skip("ipywidgets 7: no Stack")
    e = _tiny_explorer()
    assert all(type(box) is widgets.Stack for _, box in e.stacks)
    assert e.widget.children[0].value == "tiny"
    e.select(a=0, b=1)
    assert [leaf.value for leaf in e.visible_leaves()] == ["a=0 b=1"]


def test_an_explorer_builds_in_plain_python_without_a_frontend(tmp_path):
    """No kernel, no widget frontend (plain ``python``, as nbconvert's or a script's): the
    explorer and its results are there, and ``select`` works."""
    import os
    import subprocess
    import sys

    code = (
        "import vae.widgets as W\n"
        "e = W.kl_gap_explorer(latent_dims=(1, 2), scales=(1.0,), indices=(0,))\n"
        "e.select(M=0, q=1)\n"
        "(leaf,) = e.visible_leaves()\n"
        "assert 'M = 1,' in leaf.value and len(e.results) == 6\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_kl_explorer_draws_the_most_correlated_pair_and_opens_at_the_largest_m(kl_explorer):
    e = kl_explorer
    assert e.controls["M"].value == 8
    r = e.results[(8, "best diagonal q", 1.0)]
    i, j = r.pair
    sd = np.sqrt(np.diag(r.post_cov))
    corr = np.abs(r.post_cov / np.outer(sd, sd)) - np.eye(8)
    assert abs(r.rho) == pytest.approx(corr.max()) and abs(corr[i, j]) == pytest.approx(corr.max())
    assert i < j
    e.select(M=2, q=0)
    (leaf,) = e.visible_leaves()
    assert f"coordinates {i + 1} and {j + 1}, the most correlated pair" in leaf.value
    assert e.results[(1, "best diagonal q", 1.0)].pair == (0, 0)


def test_latent_explorer_shows_the_digits_pixel_exact_and_48_px_wide(small_latent):
    """Digits, reconstructions and samples as pixel-exact grids (one image pixel per digit
    pixel), enlarged without smoothing to 8 * DIGIT_SCALE = 48 CSS px per digit (they were
    ~26 px and blurred inside a matplotlib figure); the plots above them declare their
    smallest text, 10 px as shown (20 image px at density 2)."""
    _, res = small_latent
    e = W.latent_dim_explorer(ks=(1, 10), results=res, x_test=load_digits("test"))
    e.select(M=1, K=0)
    _, image = e.visible_leaves()
    r, x_show = res[2], load_digits("test")[:4]
    grids = [image_grid_png(torch.cat([x_show, r.recon]), ncol=4), image_grid_png(r.samples, 4)]
    pngs = _images(image.value)
    assert pngs[-2:] == grids
    tags = re.findall(r"<img [^>]*>", image.value)
    for tag, png in zip(tags[-2:], grids, strict=True):
        width = int(re.search(r'width="(\d+)"', tag).group(1))
        assert width == png_width(png) * W.latent.DIGIT_SCALE == (4 * 9 - 1) * 6
        assert "image-rendering:pixelated" in tag and "max-width:100%" in tag
    for tag in tags[:-2]:
        assert float(re.search(r'data-min-text-px="([\d.]+)"', tag).group(1)) >= 20


def test_smallest_text_px_is_the_smallest_visible_font_at_the_figures_dpi():
    fig = Figure(figsize=(2, 2), dpi=144)
    ax = fig.subplots()
    ax.set_title("title", fontsize=12)
    ax.tick_params(labelsize=7)
    ax.text(0, 0, "hidden", fontsize=4, visible=False)
    ax.text(0, 0, "", fontsize=3)
    assert smallest_text_px(fig) == pytest.approx(7 * 144 / 72)
    assert smallest_text_px(Figure()) == 0
