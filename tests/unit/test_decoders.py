"""The decoders p(x|z): each pmf sums to one over its support, log-probs equal a direct
computation, shapes follow z's batch shape, and data outside a decoder's support is refused."""

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae import VAE, load_digits
from vae.counts import CountCategorical
from vae.data import binarize
from vae.decoder import BernoulliDecoder, BinomialDecoder, CategoricalDecoder

X = load_digits("test")[:32]


def _decoders(latent_dim: int = 2, x_dim: int = 3, total_count: int = 4):
    torch.manual_seed(0)
    return {
        "binomial": BinomialDecoder(latent_dim, x_dim, (8,), total_count).double(),
        "categorical": CategoricalDecoder(latent_dim, x_dim, (8,), total_count).double(),
        "bernoulli": BernoulliDecoder(latent_dim, x_dim, (8,)).double(),
    }


@pytest.mark.parametrize("name", ["binomial", "categorical", "bernoulli"])
def test_pmf_sums_to_one_over_every_image_of_its_support(name):
    # D = 3 pixels, counts 0..4: all 5^3 images (2^3 for Bernoulli), at 4 values of z.
    decoder = _decoders()[name]
    values = range(2) if name == "bernoulli" else range(5)
    images = torch.tensor(list(itertools.product(values, repeat=3)), dtype=torch.float64)
    z = torch.randn(4, 1, 2, dtype=torch.float64)
    with torch.no_grad():
        log_p = decoder(z).log_prob(images)  # [4, n_images]
    torch.testing.assert_close(log_p.logsumexp(-1), torch.zeros(4, dtype=torch.float64))


def test_categorical_log_prob_equals_the_sum_of_chosen_log_softmax_entries():
    decoder = CategoricalDecoder(2, 64, (16,), 16)
    z = torch.randn(5, 2)
    with torch.no_grad():
        logits = decoder.net(z).reshape(5, 64, 17)
        direct = torch.stack(
            [
                sum(torch.log_softmax(logits[n, d], 0)[int(X[n, d])] for d in range(64))
                for n in range(5)
            ]
        )
        torch.testing.assert_close(decoder(z).log_prob(X[:5]), direct)


def test_categorical_matches_torch_categorical_and_has_count_mean_and_variance():
    logits = torch.randn(7, 64, 17, dtype=torch.float64)
    ours = CountCategorical(logits=logits)
    theirs = torch.distributions.Categorical(logits=logits)
    k = torch.arange(17, dtype=torch.float64)
    torch.testing.assert_close(ours.log_prob(X[:7].double()), theirs.log_prob(X[:7].long()))
    torch.testing.assert_close(ours.entropy(), theirs.entropy())
    torch.testing.assert_close(ours.mean, (theirs.probs * k).sum(-1))
    torch.testing.assert_close(
        ours.variance, (theirs.probs * (k - ours.mean[..., None]) ** 2).sum(-1)
    )
    torch.manual_seed(0)
    draws = ours.sample((2,))
    assert draws.dtype == torch.float64 and draws.shape == (2, 7, 64)
    assert torch.equal(draws, draws.round()) and 0 <= draws.min() and draws.max() <= 16
    assert ours.mode.dtype == torch.float64
    assert torch.equal(ours.mode, theirs.mode.double())
    assert ours.expand((3, 7, 64)).log_prob(X[:7].double()).shape == (3, 7, 64)


def test_bernoulli_log_prob_equals_x_log_p_plus_one_minus_x_log_one_minus_p():
    decoder = BernoulliDecoder(2, 64, (16,))
    z, x = torch.randn(5, 2), binarize(X[:5])
    with torch.no_grad():
        p = torch.sigmoid(decoder.net(z))
        direct = (x * p.log() + (1 - x) * (1 - p).log()).sum(-1)
        torch.testing.assert_close(decoder(z).log_prob(x), direct)


def test_binarize_thresholds_at_half_the_count_and_keeps_dtype():
    x = torch.tensor([[0.0, 8.0, 9.0, 16.0]])
    assert torch.equal(binarize(x), torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
    assert binarize(X.double()).dtype == torch.float64


@settings(max_examples=20, deadline=None)
@given(
    likelihood=st.sampled_from(["binomial", "categorical", "bernoulli", "gaussian"]),
    latent_dim=st.integers(1, 4),
    n=st.integers(1, 6),
    samples=st.integers(1, 3),
)
def test_every_likelihood_gives_per_image_elbo_and_images_of_the_data_shape(
    likelihood, latent_dim, n, samples
):
    model = VAE(latent_dim=latent_dim, hidden=(8,), likelihood=likelihood, seed=0)
    x = binarize(X[:n]) if likelihood == "bernoulli" else X[:n]
    out = model.elbo_terms(x, n_samples=samples)
    assert out.elbo.shape == out.kl.shape == (n,)
    assert torch.isfinite(out.elbo).all()
    assert model.decode(torch.zeros(samples, n, latent_dim)).batch_shape == (samples, n)
    assert model.sample(3).shape == model.sample(3, mean=False).shape == (3, 64)
    rec = model.reconstruct(x)
    assert rec.shape == (n, 64) and torch.isfinite(rec).all()
    if likelihood in ("binomial", "categorical"):
        assert (rec >= 0).all() and (rec <= 16).all()


@settings(max_examples=25, deadline=None)
@given(value=st.one_of(st.floats(-100, -0.01), st.floats(16.01, 100), st.floats(0.01, 0.99)))
def test_categorical_refuses_counts_outside_0_to_16_or_fractional(value):
    x = X[:2].clone()
    x[0, 0] = value
    with pytest.raises(ValueError, match=r"counts (in )?0\.\.16"):
        VAE(likelihood="categorical").elbo(x)


@settings(max_examples=25, deadline=None)
@given(value=st.floats(-5, 20, width=32).filter(lambda v: v not in (0.0, 1.0)))
def test_bernoulli_refuses_non_binary_data(value):
    x = binarize(X[:2])
    x[1, 5] = value
    with pytest.raises(ValueError, match="binary"):
        VAE(likelihood="bernoulli").elbo(x)


def test_unknown_likelihood_names_the_valid_ones():
    with pytest.raises(ValueError, match="binomial.*categorical.*bernoulli.*gaussian.*'poisson'"):
        VAE(likelihood="poisson")


def test_categorical_prior_predictive_of_a_constant_image_is_its_pmf():
    # With all logits equal, every count has probability 1/17 and log p(x|z) = -64 log 17.
    decoder = CategoricalDecoder(2, 64, (4,), 16)
    with torch.no_grad():
        for p in decoder.net.parameters():
            p.zero_()
    log_p = decoder(torch.zeros(1, 2)).log_prob(X[:1])
    torch.testing.assert_close(log_p, torch.tensor([-64 * math.log(17)]))
