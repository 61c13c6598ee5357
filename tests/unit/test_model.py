"""The VAE: ELBO shapes and terms, analytic vs Monte Carlo KL, sampling, and bad input."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Independent, MultivariateNormal

from vae import VAE, load_digits

X = load_digits("test")[:64]


@pytest.fixture(scope="module")
def model():
    return VAE(latent_dim=3, hidden=(32,), seed=1)


def test_elbo_has_one_value_per_datapoint_and_equals_loglik_minus_kl(model):
    torch.manual_seed(0)
    out = model.elbo_terms(X, n_samples=4)
    assert out.elbo.shape == out.log_likelihood.shape == out.kl.shape == (64,)
    torch.testing.assert_close(out.elbo, out.log_likelihood - out.kl)
    assert (out.kl >= 0).all() and torch.isfinite(out.elbo).all()


def test_encoder_returns_diagonal_gaussian_with_sigma_from_log_sigma(model):
    q = model.encode(X)
    assert isinstance(q, Independent) and q.event_shape == (3,) and q.batch_shape == (64,)
    mu, log_sigma = model.encoder.params(X)
    torch.testing.assert_close(q.mean, mu)
    torch.testing.assert_close(q.variance, (2 * log_sigma).exp())  # sigma^2, not sigma


def test_analytic_kl_equals_monte_carlo_kl_within_its_standard_error(model):
    torch.manual_seed(0)
    q, p = model.encode(X[:8]), model.prior()
    z = q.sample((20000,))
    draws = q.log_prob(z) - p.log_prob(z)  # [S, N]
    mc, se = draws.mean(0), draws.std(0) / 20000**0.5
    analytic = torch.distributions.kl_divergence(q, p)
    assert ((mc - analytic).abs() < 4 * se).all()


def test_monte_carlo_kl_option_is_unbiased_for_the_elbo(model):
    torch.manual_seed(0)
    with torch.no_grad():
        a = model.elbo(X, n_samples=2000)
        b = model.elbo(X, n_samples=2000, analytic_kl=False)
    assert (a - b).abs().mean() < 0.5


def test_full_covariance_encoder_gives_multivariate_normal_and_finite_elbo():
    m = VAE(latent_dim=3, hidden=(16,), full_covariance=True)
    q = m.encode(X)
    assert isinstance(q, MultivariateNormal) and q.batch_shape == (64,)
    assert torch.isfinite(m.elbo(X)).all()


def test_gaussian_likelihood_accepts_continuous_data():
    m = VAE(latent_dim=2, hidden=(16,), likelihood="gaussian")
    assert torch.isfinite(m.elbo(X + 0.5)).all()


def test_same_seed_gives_the_same_network_without_touching_global_rng():
    state = torch.get_rng_state()
    a, b = VAE(seed=7), VAE(seed=7)
    assert torch.equal(state, torch.get_rng_state())
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_sample_and_reconstruct_shapes_and_ranges(model):
    assert model.sample(5).shape == (5, 64)
    rec = model.reconstruct(X)
    assert rec.shape == X.shape and (rec >= 0).all() and (rec <= 16).all()


def test_user_supplied_q_replaces_the_encoder(model):
    q = model.encode(X)
    torch.manual_seed(3)
    a = model.elbo(X, q=q)
    torch.manual_seed(3)
    b = model.elbo(X)
    torch.testing.assert_close(a, b)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 100).filter(lambda c: c != 64))
def test_wrong_number_of_pixels_raises(model, rows, cols):
    with pytest.raises(ValueError, match=r"shape \[N, 64\]"):
        model.elbo(torch.zeros(rows, cols))


@settings(max_examples=25, deadline=None)
@given(ndim=st.sampled_from([0, 1, 3]))
def test_wrong_rank_raises(model, ndim):
    with pytest.raises(ValueError, match="shape"):
        model.elbo(torch.zeros((2,) * ndim if ndim else ()))


@settings(max_examples=25, deadline=None)
@given(bad=st.sampled_from([float("nan"), float("inf"), -float("inf")]), at=st.integers(0, 63))
def test_non_finite_values_raise_instead_of_a_nan_elbo(model, bad, at):
    x = X[:2].clone()
    x[1, at] = bad
    with pytest.raises(ValueError, match="finite"):
        model.elbo(x)


@settings(max_examples=25, deadline=None)
@given(value=st.one_of(st.floats(-100, -0.01), st.floats(16.01, 100), st.floats(0.01, 0.99)))
def test_counts_outside_0_to_16_or_fractional_raise_for_binomial(model, value):
    x = X[:2].clone()
    x[0, 0] = value
    with pytest.raises(ValueError, match="counts"):
        model.elbo(x)


def test_other_bad_inputs_raise(model):
    with pytest.raises(ValueError, match="floating-point"):
        model.elbo(X.long())
    with pytest.raises(ValueError, match="dtype"):
        model.elbo(X.double())
    with pytest.raises(ValueError, match="torch.Tensor"):
        model.elbo(X.numpy())
    with pytest.raises(ValueError, match="at least one row"):
        model.elbo(X[:0])
    with pytest.raises(ValueError, match="n_samples"):
        model.elbo(X, n_samples=0)
    with pytest.raises(ValueError, match="batch shape"):
        model.elbo(X, q=model.encode(X[:3]))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="latent_dim"):
            VAE(latent_dim=bad)
    with pytest.raises(ValueError, match="n must be"):
        model.sample(0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.floats(0.1, 40.0))
def test_count_binomial_log_prob_equals_torch_binomial(seed, scale):
    from torch.distributions import Binomial

    from vae.counts import CountBinomial

    g = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(3, 5, 64, generator=g, dtype=torch.float64)
    counts = torch.randint(0, 17, (5, 64), generator=g).double()
    ours = CountBinomial(16, logits=logits)
    theirs = Binomial(16, logits=logits)
    torch.testing.assert_close(ours.log_prob(counts), theirs.log_prob(counts), rtol=0, atol=1e-9)
    assert ours.expand((2, 3, 5, 64)).log_prob(counts).shape == (2, 3, 5, 64)
    torch.testing.assert_close(ours.mean, theirs.mean)
