"""Quadrature: log p(x) exact against the linear-Gaussian model, consistent with importance
sampling on a trained VAE, converged under refinement, clear errors for what it cannot do; the
Gauss-Hermite ELBO; and the exact split of the gap into approximation and amortization."""

import math

import pytest
import torch

from vae import VAE, LinearGaussian, fit, load_digits, log_marginal_quadrature
from vae.encoder import diagonal_gaussian
from vae.estimators import log_marginal_is
from vae.inference import gap_decomposition, optimize_q_quadrature
from vae.quadrature import elbo_quadrature, largest_basin_share, posterior_grid

X64 = load_digits("train", dtype=torch.float64)
XT64 = load_digits("test", dtype=torch.float64)[:40]
XT = load_digits("test")[:40]


@pytest.fixture(scope="module")
def trained():
    """A small VAE (M = 2) after a few epochs: narrow, non-Gaussian posteriors."""
    model = VAE(latent_dim=2, hidden=(64,), seed=0)
    fit(model, load_digits("train"), epochs=15, lr=5e-3, seed=0, progress=False, device="cpu")
    return model


@pytest.mark.parametrize("latent_dim", [1, 2])
def test_matches_the_closed_form_log_marginal_of_the_linear_model(latent_dim):
    model = LinearGaussian.max_likelihood(X64, latent_dim, rotation_seed=0)
    exact = model.log_marginal(XT64)
    quad = log_marginal_quadrature(model, XT64)
    assert quad.shape == (40,) and quad.dtype == torch.float64
    assert (quad - exact).abs().max() < 1e-6


def test_importance_sampling_is_unbiased_for_the_quadrature_value(trained):
    # p_K(x) = exp(log p_K) is an unbiased estimate of p(x): over repeated draws its average
    # ratio to the quadrature's p(x) is 1 within Monte Carlo error, digit by digit
    torch.manual_seed(0)
    x, repeats = XT[:8], 50
    quad = log_marginal_quadrature(trained, x)
    log_p_k = log_marginal_is(trained, x.repeat(repeats, 1), k=1000).double().view(repeats, 8)
    ratio = (log_p_k - quad).exp()
    standard_error = ratio.std(0) / repeats**0.5
    assert ((ratio.mean(0) - 1).abs() < 4 * standard_error).all()
    # and log p_K is below log p(x) on average (Jensen)
    assert (log_p_k - quad).mean() < 0


def test_converges_under_refinement(trained):
    model = VAE(latent_dim=2, hidden=(64,), seed=0).double()
    model.load_state_dict(trained.state_dict())
    default = log_marginal_quadrature(model, XT64[:12])
    finer = log_marginal_quadrature(
        model, XT64[:12], tol=1e-8, coarse_step=0.125, n_intervals=64, select_nats=30.0, radius=8.0
    )
    assert (default - finer).abs().max() < 1e-6


def test_a_float32_model_gives_float64_results_close_to_its_float64_copy(trained):
    model = VAE(latent_dim=2, hidden=(64,), seed=0).double()
    model.load_state_dict(trained.state_dict())
    lp32 = log_marginal_quadrature(trained, XT[:12])
    lp64 = log_marginal_quadrature(model, XT64[:12])
    assert lp32.dtype == torch.float64
    assert (lp32 - lp64).abs().max() < 1e-3


def test_memory_chunks_do_not_change_the_result():
    model = LinearGaussian.max_likelihood(X64, 2)
    a = log_marginal_quadrature(model, XT64[:5])
    b = log_marginal_quadrature(model, XT64[:5], max_elements=1000)
    assert torch.allclose(a, b, rtol=0, atol=1e-10)
    grid = posterior_grid(model, XT64[:5])
    chunked = posterior_grid(model, XT64[:5], max_elements=1000)
    torch.testing.assert_close(chunked.log_mass, grid.log_mass, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="max_elements"):
        posterior_grid(model, XT64[:5], max_elements=0)


def test_bad_inputs_raise_value_error(trained):
    with pytest.raises(ValueError, match="latent_dim 1 or 2"):
        log_marginal_quadrature(VAE(latent_dim=3), XT)
    with pytest.raises(ValueError, match="log_joint"):
        log_marginal_quadrature(object(), XT)
    with pytest.raises(ValueError, match="shape"):
        log_marginal_quadrature(trained, XT[:, :10])
    with pytest.raises(ValueError, match="shape"):
        log_marginal_quadrature(trained, XT[0])
    bad = XT.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        log_marginal_quadrature(trained, bad)
    with pytest.raises(ValueError, match="dtype"):
        log_marginal_quadrature(trained, XT64)
    with pytest.raises(ValueError, match="n_intervals"):
        log_marginal_quadrature(trained, XT, n_intervals=33)
    with pytest.raises(ValueError, match="tol"):
        log_marginal_quadrature(trained, XT, tol=0.0)


def test_gauss_hermite_elbo_is_exact_for_the_linear_model():
    model = LinearGaussian.max_likelihood(X64, 2, rotation_seed=0)
    q = model.best_diagonal_q(XT64)
    shifted = diagonal_gaussian(q.mean + 0.3, q.stddev.log() - 0.2)
    for qq in (q, shifted, model.posterior(XT64)):
        assert (
            elbo_quadrature(model, XT64, qq, n_nodes=3) - model.elbo(XT64, qq)
        ).abs().max() < 1e-9


def test_elbo_quadrature_agrees_with_the_sampled_elbo(trained):
    torch.manual_seed(0)
    x, repeats = XT[:8], 200
    with torch.no_grad():
        exact = elbo_quadrature(trained, x, trained.encode(x))
        sampled = trained.elbo(x.repeat(repeats, 1), n_samples=100).view(repeats, 8)
    standard_error = sampled.std(0) / repeats**0.5
    assert ((sampled.mean(0) - exact).abs() < 4 * standard_error).all()


def test_deterministic_local_fit_finds_the_best_diagonal_q_of_the_linear_model():
    model = LinearGaussian.max_likelihood(X64, 2, rotation_seed=0)
    best = model.best_diagonal_q(XT64[:10])
    q = optimize_q_quadrature(model, XT64[:10], n_nodes=3, steps=200, init="prior")
    assert (q.mean - best.mean).abs().max() < 1e-5
    assert (q.stddev - best.stddev).abs().max() < 1e-5


def test_gap_decomposition_adds_up_and_both_parts_are_nonnegative(trained):
    gaps = gap_decomposition(trained, XT[:12], n_nodes=8, steps=50)
    assert torch.allclose(gaps.total, gaps.approximation + gaps.amortization, atol=1e-9)
    assert (gaps.approximation > -1e-4).all()  # the best Gaussian is below log p(x)
    assert (gaps.amortization > -1e-4).all()  # and above the encoder's
    assert torch.equal(gaps.log_marginal, log_marginal_quadrature(trained, XT[:12]))


def test_gap_decomposition_takes_a_known_log_p_and_rejects_one_of_another_shape(trained):
    x = XT[:3]
    log_p = log_marginal_quadrature(trained, x)
    computed = gap_decomposition(trained, x, steps=20)
    given = gap_decomposition(trained, x, steps=20, log_p=log_p.float(), max_elements=1000)
    assert given.log_marginal.dtype == torch.float64
    torch.testing.assert_close(given.log_marginal, log_p.float().double())
    torch.testing.assert_close(given.elbo_best, computed.elbo_best, rtol=0, atol=1e-5)
    torch.testing.assert_close(given.elbo_encoder, computed.elbo_encoder, rtol=0, atol=1e-5)
    for bad in (log_p[:2], log_p[:, None], log_p.long(), log_p.tolist()):
        with pytest.raises(ValueError, match=r"float tensor of shape \[N\] = \[3\]"):
            gap_decomposition(trained, x, log_p=bad)


class TwoModes:
    """A toy joint over M = 1: p(x, z) = 0.7 N(z; -2, 0.3^2) + 0.3 N(z; 2, 0.3^2), so p(x) = 1."""

    latent_dim = 1

    def check_input(self, x):
        return x

    def prior(self):
        return torch.distributions.Normal(0.0, 1.0)

    def log_joint(self, x, z):
        normal = torch.distributions.Normal
        a = normal(-2.0, 0.3).log_prob(z[..., 0]) + math.log(0.7)
        b = normal(2.0, 0.3).log_prob(z[..., 0]) + math.log(0.3)
        return torch.logaddexp(a, b) + 0 * x.sum(-1)


def test_a_two_mode_joint_integrates_to_one_and_has_its_largest_basin_at_seventy_percent():
    x = torch.zeros(3, 4, dtype=torch.float64)
    model = TwoModes()
    assert log_marginal_quadrature(model, x).abs().max() < 1e-6
    share = largest_basin_share(posterior_grid(model, x))
    assert (share - 0.7).abs().max() < 1e-6


def test_posterior_grid_has_the_linear_models_posterior_mean_and_one_basin():
    model = LinearGaussian.max_likelihood(X64, 2, rotation_seed=0)
    grid = posterior_grid(model, XT64[:5])
    mass = grid.log_mass.exp()  # [P, 5]
    assert (mass.sum(0) - 1).abs().max() < 1e-9
    mean = (mass[..., None] * grid.z).sum(0)
    assert (mean - model.posterior(XT64[:5]).mean).abs().max() < 1e-6
    assert (largest_basin_share(grid) > 1 - 1e-9).all()
