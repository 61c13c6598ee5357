"""vae: variational autoencoders and the exact models beside them, in PyTorch.

One module per idea:

* :mod:`vae.data` -- the scikit-learn digits as float tensors of counts, with a fixed split;
* :mod:`vae.nn` -- the multilayer perceptrons inside the encoder and the decoders;
* :mod:`vae.gaussian` -- diagonal and full Gaussians over latent vectors, N(0, I), their KL;
* :mod:`vae.counts` -- Binomial and Categorical distributions over the counts 0..n;
* :mod:`vae.encoder` -- q_phi(z|x) = N(mu, diag(sigma^2)), the net outputs (mu, log sigma);
* :mod:`vae.decoder` -- p_theta(x|z): Binomial(16, p) or Categorical(17) for counts, Bernoulli for
  binary data, Gaussian for continuous data;
* :mod:`vae.latent_model` -- the protocol every model follows, and the ELBO's terms;
* :mod:`vae.model` -- :class:`VAE` with its per-datapoint ELBO, on a base it shares with the
  conditional VAE;
* :mod:`vae.linear` -- the linear-Gaussian model, where log p(x), p(z|x) and the gap are exact;
* :mod:`vae.estimators` -- importance-sampled log p(x), the estimated KL gap, active units;
* :mod:`vae.gradients` -- reparameterization and score-function gradients of the ELBO;
* :mod:`vae.inference` -- per-datapoint inference and the amortization gap;
* :mod:`vae.quadrature` -- exact log p(x), ELBO and posterior by quadrature when M <= 2;
* :mod:`vae.train` -- seeded minibatch Adam on the negative ELBO (its loop takes any
  minibatch objective);
* :mod:`vae.conditional` -- the conditional VAE of p(x | y), and its training loop;
* :mod:`vae.checks` -- input checks, and the one switch that turns them off;
* :mod:`vae.plot` -- image grids and Gaussian ellipses for figures;
* :mod:`vae.widgets` -- interactive explorers that also work in static HTML
  (needs ``ipywidgets``; imported on its own, ``import vae.widgets``).

All log-densities are in nats.
"""

from importlib.metadata import PackageNotFoundError, version

from vae.conditional import ConditionalVAE, fit_conditional
from vae.data import load_digits
from vae.decoder import BernoulliDecoder, BinomialDecoder, CategoricalDecoder, GaussianDecoder
from vae.encoder import Encoder, FullCovarianceEncoder
from vae.estimators import kl_gap_estimate, log_marginal_is
from vae.latent_model import ELBO, LatentModel
from vae.linear import LinearGaussian
from vae.model import VAE
from vae.quadrature import log_marginal_quadrature
from vae.train import History, fit

__all__ = [
    "ELBO",
    "VAE",
    "BernoulliDecoder",
    "BinomialDecoder",
    "CategoricalDecoder",
    "ConditionalVAE",
    "Encoder",
    "FullCovarianceEncoder",
    "GaussianDecoder",
    "History",
    "LatentModel",
    "LinearGaussian",
    "fit",
    "fit_conditional",
    "kl_gap_estimate",
    "load_digits",
    "log_marginal_is",
    "log_marginal_quadrature",
]

try:
    __version__ = version("vae")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
