"""A VAE's decoder with M = 2 running in the reader's browser: the latent space, continuously.

The other explorers of :mod:`vae.widgets` switch between precomputed images, so a static page
can show only the points of a grid. :func:`latent_decoder` instead puts the decoder's weights
into the page (float32, base64: about 0.75 MB for the book's 2-128-1088 network) with its
forward pass in plain JavaScript (``js_decoder.js`` beside this file): dragging anywhere in z
decodes the digit E[x | z] at once, with no kernel and no network. It is one
``IPython.display.HTML`` output (a ``<div>``, two ``<canvas>``, an inline ``<script>``),
so it runs in the static HTML book, in JupyterLab once the notebook is trusted, and in Colab's
output frame.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
from importlib import resources
from typing import Any

import torch
from torch import Tensor, nn

from vae.decoder import BinomialDecoder
from vae.model import VAE

JS_SOURCE = "js_decoder.js"
"""The forward pass and the explorer, a file of this package (read by :func:`script`)."""


def script() -> str:
    """The JavaScript of ``js_decoder.js``: defines ``vaeLatentDecoder`` (``floats``,
    ``makeDecoder``, ``mount``) in a page, or exports them under node."""
    return resources.files("vae.widgets").joinpath(JS_SOURCE).read_text(encoding="utf-8")


def _b64(t: Tensor) -> str:
    """A tensor's values as little-endian float32 bytes, base64 (what ``floats`` reads)."""
    a = t.detach().to(torch.float32).cpu().contiguous().numpy().astype("<f4")
    return base64.b64encode(a.tobytes()).decode("ascii")


def decoder_spec(model: VAE) -> dict[str, Any]:
    """The decoder of ``model`` as the JavaScript reads it: its Linear layers (weights [out, in]
    row-major and biases, float32 in base64, tanh between them), D, the outputs per pixel, the
    likelihood (how the mean E[x | z] follows from the last layer) and the largest pixel value.

    Raises:
        ValueError: if the decoder's network is not Linear layers with ``Tanh`` between them
            (what :func:`vae.nn.mlp` builds).
    """
    net = model.decoder.net
    if not isinstance(net, nn.Sequential):
        raise ValueError(f"the decoder's network must be an nn.Sequential, got {type(net)}")
    modules = list(net)
    linears = [m for m in modules[0::2] if isinstance(m, nn.Linear)]
    acts = [m for m in modules[1::2] if isinstance(m, nn.Tanh)]
    if len(linears) + len(acts) != len(modules) or len(linears) != len(acts) + 1:
        raise ValueError(f"the decoder must be Linear layers with Tanh between them, got {net}")
    likelihood = model.likelihood
    per_pixel = linears[-1].out_features // model.x_dim
    if likelihood == "categorical":
        max_value = per_pixel - 1
    elif isinstance(model.decoder, BinomialDecoder):
        max_value = model.decoder.total_count
    elif likelihood == "bernoulli":
        max_value = 1
    else:
        max_value = 16  # the digits' range, for a Gaussian decoder of the counts
    return {
        "layers": [
            {
                "n_in": m.in_features,
                "n_out": m.out_features,
                "weight": _b64(m.weight),
                "bias": _b64(m.bias),
            }
            for m in linears
        ],
        "x_dim": model.x_dim,
        "per_pixel": per_pixel,
        "likelihood": likelihood,
        "total_count": getattr(model.decoder, "total_count", 1),
        "max_value": max_value,
    }


@torch.no_grad()
def latent_decoder_html(
    model: VAE,
    x: Tensor | None = None,
    labels: Tensor | None = None,
    extent: float = 3.0,
    z: tuple[float, float] | None = None,
) -> str:
    """The explorer as one self-contained HTML fragment (see :func:`latent_decoder`)."""
    if model.latent_dim != 2:
        raise ValueError(f"the latent-space decoder needs latent_dim 2, got {model.latent_dim}")
    spec = decoder_spec(model)
    spec["extent"] = float(extent)
    spec["label"] = "z"
    spec["digit_alt"] = "the decoded digit E[x | z]"
    spec["pad_alt"] = (
        f"the latent square [-{extent:g}, {extent:g}] squared"
        + (
            ", with the posterior means of the held-out digits coloured by class"
            if x is not None
            else ""
        )
        + "; drag to pick z, or use the two sliders"
    )
    if x is not None:
        mu = model.encode(x).mean
        spec["points"] = [[round(float(a), 3), round(float(b), 3)] for a, b in mu.tolist()]
        if labels is not None:
            spec["labels"] = [int(v) for v in torch.as_tensor(labels).tolist()]
        if z is None:  # open on a digit, not on the blur between clusters
            z = (spec["points"][0][0], spec["points"][0][1])
    z = (0.0, 0.0) if z is None else z
    spec["z"] = [max(-extent, min(extent, float(v))) for v in z]
    uid = "vae-ld-" + secrets.token_hex(4)
    # "</" never appears inside a <script> element (JSON escapes "/" as "\/" here)
    data = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    return (
        f'<div id="{uid}" class="vae-latent-decoder" style="margin:0.5em 0">'
        f"<p>{html.escape('The latent-space decoder needs JavaScript.')}</p></div>\n"
        f"<script>\n{script()}\n"
        f'vaeLatentDecoder.mount(document.getElementById("{uid}"), {data});\n</script>'
    )


def latent_decoder(
    model: VAE,
    x: Tensor | None = None,
    labels: Tensor | None = None,
    extent: float = 3.0,
    z: tuple[float, float] | None = None,
) -> Any:  # IPython.display.HTML (IPython is imported only when called)
    """Drag anywhere in the latent square [-extent, extent]^2 of a VAE with M = 2 and see the
    decoder's mean E[x | z] at once, computed in the browser from the decoder's weights.

    Args:
        model: a :class:`~vae.model.VAE` with ``latent_dim`` 2 and an :func:`vae.nn.mlp` decoder.
        x: digits [N, D] whose posterior means mu(x) are drawn on the square (optional).
        labels: their classes [N], which colour the points (matplotlib's tab10).
        extent: half the side of the square, in units of the prior's standard deviation.
        z: the point shown first (default: the posterior mean of ``x[0]``, else the origin).

    Returns:
        An ``IPython.display.HTML`` object: show it as a cell's last expression.
    """
    from IPython.display import HTML

    return HTML(latent_decoder_html(model, x, labels, extent, z))
