"""The linear-Gaussian model: exact log p(x), posterior, ELBO and KL gap."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from vae.data import load_digits
from vae.estimators import log_marginal_is
from vae.gaussian import diagonal_gaussian
from vae.linear import LinearGaussian, random_rotation

X = load_digits("train", dtype=torch.float64)
XT = load_digits("test", dtype=torch.float64)


@pytest.fixture(scope="module")
def model():
    return LinearGaussian.max_likelihood(X, 5, rotation_seed=0)


def test_log_marginal_matches_the_gaussian_evaluated_directly(model):
    W, b, t2 = model.W.numpy(), model.b.numpy(), float(model.tau2)
    cov = W @ W.T + t2 * np.eye(64)
    diff = XT.numpy() - b
    _, logdet = np.linalg.slogdet(cov)
    maha = np.einsum("nd,nd->n", diff, np.linalg.solve(cov, diff.T).T)
    direct = -0.5 * (64 * math.log(2 * math.pi) + logdet + maha)
    np.testing.assert_allclose(model.log_marginal(XT).numpy(), direct, rtol=0, atol=1e-8)


@pytest.mark.parametrize("latent_dim", [2, 5, 10])
def test_log_marginal_matches_sklearn_pca_score_within_a_hundredth_nat(latent_dim):
    ours = LinearGaussian.max_likelihood(X, latent_dim).log_marginal(X).mean().item()
    theirs = PCA(latent_dim).fit(X.numpy()).score(X.numpy())
    assert abs(ours - theirs) < 0.01


def test_rotation_leaves_the_likelihood_unchanged():
    plain = LinearGaussian.max_likelihood(X, 4)
    rotated = plain.rotate(random_rotation(4, seed=3))
    torch.testing.assert_close(plain.log_marginal(XT), rotated.log_marginal(XT), rtol=0, atol=1e-9)


def test_posterior_is_the_conditional_of_the_joint_gaussian(model):
    """p(z|x) from Bayes' rule: p(z) p(x|z) / p(x) at a few z, for a few x."""
    x = XT[:3]
    z = torch.randn(7, 3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    via_bayes = model.log_joint(x, z) - model.log_marginal(x)
    torch.testing.assert_close(model.posterior(x).log_prob(z), via_bayes, rtol=0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    latent_dim=st.integers(1, 8),
    shift=st.floats(-3, 3),
    log_scale=st.floats(-3, 2),
    seed=st.integers(0, 2**16),
)
def test_identity_log_marginal_equals_elbo_plus_kl_for_any_q(latent_dim, shift, log_scale, seed):
    model = LinearGaussian.max_likelihood(X, latent_dim, rotation_seed=seed)
    x = XT[:20]
    g = torch.Generator().manual_seed(seed)
    mu = model.posterior(x).mean + shift * torch.rand(20, latent_dim, generator=g, dtype=X.dtype)
    log_sigma = log_scale + torch.randn(20, latent_dim, generator=g, dtype=X.dtype)
    q = diagonal_gaussian(mu, log_sigma)
    error = model.log_marginal(x) - model.elbo(x, q) - model.kl_gap(x, q)
    assert error.abs().max() < 1e-9


def test_identity_holds_for_a_full_covariance_q(model):
    q = model.posterior(XT[:10])
    assert model.kl_gap(XT[:10], q).abs().max() < 1e-9
    torch.testing.assert_close(
        model.elbo(XT[:10], q), model.log_marginal(XT[:10]), rtol=0, atol=1e-9
    )


def test_unrotated_fit_has_an_axis_aligned_posterior_so_a_diagonal_q_is_exact():
    plain = LinearGaussian.max_likelihood(X, 5)
    assert plain.kl_gap(XT, plain.best_diagonal_q(XT)).abs().max() < 1e-9


def test_best_diagonal_q_uses_inverse_precision_and_beats_marginal_variances(model):
    best, marg = model.best_diagonal_q(XT), model.marginal_q(XT)
    precision = model.posterior(XT[:1]).precision_matrix[0]
    torch.testing.assert_close(best.variance[0], 1 / precision.diagonal())
    assert (best.variance <= marg.variance + 1e-12).all()
    assert (model.kl_gap(XT, best) < model.kl_gap(XT, marg)).all()
    # no nearby diagonal q does better
    for factor in (0.9, 1.1):
        other = diagonal_gaussian(best.mean, (best.stddev * factor).log())
        assert (model.elbo(XT, other) < model.elbo(XT, best)).all()


def test_importance_sampled_bound_is_below_log_p_and_tightens_with_k():
    model = LinearGaussian.max_likelihood(
        X, 10, rotation_seed=0
    )  # a gap of about 0.7 nats per image
    x = XT[:100]
    q = model.best_diagonal_q(x)
    exact = model.log_marginal(x).mean().item()
    elbo = model.elbo(x, q).mean().item()
    torch.manual_seed(0)
    runs = {
        k: [log_marginal_is(model, x, k, q=q).mean().item() for _ in range(5)]
        for k in (1, 10, 100, 1000)
    }
    bounds = {k: float(np.mean(v)) for k, v in runs.items()}
    assert abs(bounds[1] - elbo) < 0.05  # K = 1: an unbiased estimate of the ELBO
    assert all(b < exact for b in bounds.values())  # below log p(x) in expectation
    assert bounds[1] < bounds[10] < bounds[100] < bounds[1000]
    assert exact - bounds[1000] < 0.1 * (exact - elbo)  # most of the gap closed at K = 1000


def test_bad_inputs_raise_value_error(model):
    with pytest.raises(ValueError, match="latent_dim must be < D"):
        LinearGaussian.max_likelihood(X, 64)
    with pytest.raises(ValueError, match="latent_dim must be an integer >= 1"):
        LinearGaussian.max_likelihood(X, 0)
    with pytest.raises(ValueError, match="dtype"):
        model.log_marginal(XT.float())
    with pytest.raises(ValueError, match="shape"):
        model.log_marginal(XT[:, :10])
    with pytest.raises(ValueError, match="finite"):
        model.log_marginal(torch.full((2, 64), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="batch shape"):
        model.elbo(XT[:3], model.best_diagonal_q(XT[:4]))
    with pytest.raises(ValueError, match="orthogonal"):
        model.rotate(torch.ones(5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="tau2 must be positive"):
        LinearGaussian(model.W, model.b, torch.tensor(0.0))


def _random_start(latent_dim, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(64, latent_dim, generator=g, dtype=torch.float64)
    return LinearGaussian(W, torch.zeros(64, dtype=torch.float64), torch.tensor(1.0))


def test_em_never_lowers_the_likelihood_and_reaches_the_closed_form_fit():
    model, ll = _random_start(3), []
    for _ in range(150):
        model = model.em_step(X)
        ll.append(model.log_marginal(X).mean().item())
    assert all(b >= a - 1e-9 for a, b in zip(ll[:-1], ll[1:], strict=True))
    ml = LinearGaussian.max_likelihood(X, 3).log_marginal(X).mean().item()
    assert abs(ll[-1] - ml) < 1e-6


def test_em_m_step_raises_the_elbo_of_the_e_step_posterior_which_had_no_gap():
    old = _random_start(2).em_step(X)
    q = old.posterior(X)  # E-step
    new = old.em_step(X)
    ll_old = old.log_marginal(X)
    torch.testing.assert_close(old.elbo(X, q), ll_old, rtol=0, atol=1e-9)  # gap closed
    assert (new.elbo(X, q).sum() >= ll_old.sum()).item()  # M-step: the ELBO rises
    assert (new.log_marginal(X).sum() >= new.elbo(X, q).sum()).item()  # still a bound


def test_the_maximum_likelihood_fit_is_a_fixed_point_of_em():
    ml = LinearGaussian.max_likelihood(X, 4, rotation_seed=1)
    step = ml.em_step(X)
    torch.testing.assert_close(step.log_marginal(X), ml.log_marginal(X), rtol=0, atol=1e-9)
    torch.testing.assert_close(step.tau2, ml.tau2)
    torch.testing.assert_close(step.W @ step.W.T, ml.W @ ml.W.T)
