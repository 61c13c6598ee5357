"""Interactive explorers: they work in a kernel AND in a static HTML page with no kernel.

* :mod:`vae.widgets.stack` -- the machinery: every state of the controls is precomputed into
  nested switches (:class:`ipywidgets.Stack`, or a hidden-bar ``Tab`` under ipywidgets 7)
  flipped by JavaScript links (no kernel needed);
* :mod:`vae.widgets.render` -- figures as inlined PNGs with alt text, tables of numbers;
* :mod:`vae.widgets.gap` -- the KL gap, exact, in the linear-Gaussian model;
* :mod:`vae.widgets.latent` -- the latent dimension, estimated with trained VAEs;
* :mod:`vae.widgets.rate` -- rate, distortion and the KL weight beta;
* :mod:`vae.widgets.manifold` -- the latent space of a VAE with M = 2;
* :mod:`vae.widgets.conditional` -- a conditional VAE's digits, class by class;
* :mod:`vae.widgets.js_decoder` -- a decoder with M = 2 run in the browser, in JavaScript
  (any z, not only a grid's points).

Works with ipywidgets 7.7 (Google Colab's built-in widget manager, classic Notebook) and 8.

All log-densities are in nats (per image). Figures are PNGs at a modest dpi embedded as data
URIs in :class:`ipywidgets.HTML` leaves (with alt text), so the page needs no image files.
"""

from vae.widgets.conditional import class_explorer
from vae.widgets.gap import Q_CHOICES, GapResult, kl_gap_explorer, kl_gap_results
from vae.widgets.latent import LatentResult, latent_dim_explorer, latent_dim_results
from vae.widgets.manifold import (
    interpolation_explorer,
    latent_point_explorer,
    manifold_figure,
)
from vae.widgets.rate import BetaResult, beta_explorer, beta_results
from vae.widgets.stack import Explorer, Panel, all_states, make_explorer

__all__ = [
    "BetaResult",
    "Q_CHOICES",
    "Explorer",
    "GapResult",
    "LatentResult",
    "Panel",
    "all_states",
    "beta_explorer",
    "beta_results",
    "class_explorer",
    "interpolation_explorer",
    "kl_gap_explorer",
    "kl_gap_results",
    "latent_dim_explorer",
    "latent_dim_results",
    "latent_point_explorer",
    "make_explorer",
    "manifold_figure",
]
