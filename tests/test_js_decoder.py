"""The JavaScript decoder of ``vae.widgets.js_decoder`` computes what torch computes.

``js_decoder.js`` runs under node (v18 or later: ``atob`` is global) on the weights that
:func:`vae.widgets.js_decoder.decoder_spec` writes into the page; its pixel means E[x | z] must
equal ``model.decode(z).mean`` to 1e-5 on random z, for every likelihood the book uses. The
explorer itself (dragging in the built page) is checked in tests/test_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from vae import VAE
from vae.widgets import js_decoder

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

RUN_JS = """
const api = require(process.argv[1]);
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const {spec, z} = JSON.parse(input);
  const decode = api.makeDecoder(spec);
  process.stdout.write(JSON.stringify(z.map((p) => Array.from(decode(p)))));
});
"""


def _model(likelihood: str, seed: int = 0) -> VAE:
    """An M = 2 VAE whose decoder weights are spread wide (random, not trained), so that its
    outputs vary over the whole range of each pixel: a sharper check than a fresh network."""
    model = VAE(latent_dim=2, likelihood=likelihood, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 1.5)
    return model


@pytest.fixture(scope="module")
def js_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """js_decoder.js as the package ships it, in a file node can ``require``."""
    path = tmp_path_factory.mktemp("js") / js_decoder.JS_SOURCE
    path.write_text(js_decoder.script(), encoding="utf-8")
    return path


def _js_means(js_file: Path, spec: dict, z: torch.Tensor) -> torch.Tensor:
    """E[x | z] [N, D] from the JavaScript decoder under node, for z [N, 2]."""
    proc = subprocess.run(
        [NODE, "-e", RUN_JS, str(js_file)],
        input=json.dumps({"spec": spec, "z": z.tolist()}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return torch.tensor(json.loads(proc.stdout), dtype=torch.float64)


@needs_node
@pytest.mark.parametrize("likelihood", ["categorical", "binomial", "bernoulli", "gaussian"])
def test_js_decoder_matches_torch_on_random_z(js_file: Path, likelihood: str) -> None:
    model = _model(likelihood)
    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(1)) * 2.0
    got = _js_means(js_file, js_decoder.decoder_spec(model), z)
    with torch.no_grad():
        # the same float32 weights in float64, as the JavaScript computes
        want64 = model.double().decode(z.double()).mean
    assert got.shape == (200, 64)
    # (torch in float32 is itself up to ~6e-5 off its float64 result on these wide weights)
    assert (got - want64).abs().max() < 1e-5
    # not a constant image: the check would be weak if every pixel sat at one value
    assert want64.std(0).mean() > 0.05 * js_decoder.decoder_spec(model)["max_value"]


@needs_node
def test_js_decoder_matches_torch_float32_on_the_books_network(js_file: Path) -> None:
    """The book's M = 2 Categorical VAE as built (hidden 128, 17 values per pixel), against
    torch's own float32 forward pass."""
    model = VAE(latent_dim=2, likelihood="categorical", seed=3)
    z = torch.rand(50, 2, generator=torch.Generator().manual_seed(2)) * 6 - 3
    got = _js_means(js_file, js_decoder.decoder_spec(model), z)
    with torch.no_grad():
        want = model.decode(z).mean.double()
    assert (got - want).abs().max() < 1e-5


def test_html_is_one_self_contained_output() -> None:
    """One <div> and one inline <script> with the forward pass and the weights: nothing loaded
    from elsewhere, and no "</" that would end the script early."""
    model = VAE(latent_dim=2, likelihood="categorical", seed=0)
    x = torch.randint(0, 17, (5, 64)).float()
    out = js_decoder.latent_decoder_html(model, x, torch.arange(5))
    div, script = re.fullmatch(r"(<div .*?</div>)\n<script>\n(.*)\n</script>", out, re.S).groups()
    assert 'class="vae-latent-decoder"' in div
    assert "</script" not in script.lower()
    assert "src=" not in out and "http" not in script.split("*/", 1)[1]
    call = re.search(r"mount\(document\.getElementById\(\"[^\"]+\"\), (.*)\);$", script, re.S)
    spec = json.loads(call.group(1))
    assert len(spec["points"]) == 5 and spec["labels"] == [0, 1, 2, 3, 4]
    # weights: 2x128 + 128 and 128x1088 + 1088 float32 values
    sizes = [len(layer["weight"]) * 3 // 4 // 4 for layer in spec["layers"]]
    assert sizes == [2 * 128, 128 * 64 * 17]


def test_only_for_two_latent_dimensions() -> None:
    with pytest.raises(ValueError, match="latent_dim 2"):
        js_decoder.latent_decoder_html(VAE(latent_dim=3, likelihood="categorical"))
