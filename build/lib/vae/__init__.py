"""vae: the companion package of the executable book on variational autoencoders.

One module per idea:

* :mod:`vae.data` -- the scikit-learn digits as float tensors of counts, with a fixed split;
* :mod:`vae.nn` -- the multilayer perceptrons inside the encoder and the decoders;
* :mod:`vae.encoder` -- q_phi(z|x) = N(mu, diag(sigma^2)), the net outputs (mu, log sigma);
* :mod:`vae.decoder` -- p_theta(x|z): Binomial(16, p) or Categorical(17) for counts, Bernoulli for
  binary data, Gaussian for continuous data;
* :mod:`vae.model` -- :class:`VAE` with its per-datapoint ELBO;
* :mod:`vae.estimators` -- importance-sampled log p(x), the KL gap, active units, gradients;
* :mod:`vae.linear` -- the linear-Gaussian model, where log p(x), p(z|x) and the gap are exact;
* :mod:`vae.inference` -- per-datapoint inference and the amortization gap;
* :mod:`vae.quadrature` -- exact log p(x) by quadrature when M <= 2;
* :mod:`vae.train` -- seeded minibatch Adam on the negative ELBO;
* :mod:`vae.cache` -- an on-disk cache of trained models for the book build (opt-in);
* :mod:`vae.plot` -- image grids and Gaussian ellipses for the figures;
* :mod:`vae.glue` -- the numbers the prose quotes (myst-nb glue), shown in a live notebook too;
* :mod:`vae.widgets` -- the book's interactive explorers, which also work in the static HTML
  (needs ``ipywidgets``; imported on its own, ``import vae.widgets``).

All log-densities are in nats.
"""

from importlib.metadata import PackageNotFoundError, version

from vae.data import load_digits
from vae.decoder import BernoulliDecoder, BinomialDecoder, CategoricalDecoder, GaussianDecoder
from vae.encoder import Encoder, FullCovarianceEncoder
from vae.estimators import kl_gap, log_marginal_is
from vae.linear import LinearGaussian
from vae.model import ELBO, VAE
from vae.quadrature import log_marginal_quadrature
from vae.train import History, fit

__all__ = [
    "ELBO",
    "VAE",
    "BernoulliDecoder",
    "BinomialDecoder",
    "CategoricalDecoder",
    "Encoder",
    "FullCovarianceEncoder",
    "GaussianDecoder",
    "History",
    "LinearGaussian",
    "fit",
    "kl_gap",
    "load_digits",
    "log_marginal_is",
    "log_marginal_quadrature",
]

try:
    __version__ = version("vae")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
