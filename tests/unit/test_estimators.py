"""Estimators: importance sampling, KL per dimension, and the two gradient estimators."""

import pytest
import torch

from vae import VAE, load_digits
from vae.estimators import active_units, kl_gap_estimate, kl_per_dimension, log_marginal_is
from vae.gaussian import diagonal_gaussian
from vae.gradients import gradient_variance, reparam_gradient, score_function_gradient
from vae.latent_model import MAX_ELEMENTS, points_per_chunk
from vae.linear import LinearGaussian

X64 = load_digits("train", dtype=torch.float64)
XT64 = load_digits("test", dtype=torch.float64)[:4]
XT = load_digits("test")[:32]


@pytest.fixture(scope="module")
def linear():
    return LinearGaussian.max_likelihood(X64, 3, rotation_seed=0)


@pytest.fixture(scope="module")
def q_params(linear):
    post = linear.best_diagonal_q(XT64)
    return post.mean + 0.3, post.stddev.log() + 0.2  # a q away from the optimum


def analytic_gradient(linear, mu, log_sigma):
    mu, log_sigma = mu.clone().requires_grad_(), log_sigma.clone().requires_grad_()
    elbo = linear.elbo(XT64, diagonal_gaussian(mu, log_sigma)).sum()
    return torch.cat(torch.autograd.grad(elbo, (mu, log_sigma)), dim=-1)


def test_analytic_elbo_gradient_matches_finite_differences(linear, q_params):
    mu, log_sigma = q_params
    exact = analytic_gradient(linear, mu, log_sigma)
    h = 1e-6
    for i, j in [(0, 0), (1, 2), (3, 1)]:
        for which, col in ((0, j), (1, j + 3)):
            params = [mu.clone(), log_sigma.clone()]
            params[which][i, j] += h
            up = linear.elbo(XT64, diagonal_gaussian(*params))[i]
            params[which][i, j] -= 2 * h
            down = linear.elbo(XT64, diagonal_gaussian(*params))[i]
            assert abs((up - down).item() / (2 * h) - exact[i, col].item()) < 1e-5


def test_reparam_gradient_is_unbiased_for_the_analytic_gradient(linear, q_params):
    torch.manual_seed(0)
    mu, log_sigma = q_params
    exact = analytic_gradient(linear, mu, log_sigma)
    g = reparam_gradient(lambda z: linear.log_joint(XT64, z), mu, log_sigma, n_draws=4000)
    assert g.shape == (4000, 4, 6)
    se = g.std(0) / 4000**0.5
    assert ((g.mean(0) - exact).abs() < 4 * se + 1e-9).all()


def test_score_function_gradient_is_unbiased_but_noisier_than_reparam(linear, q_params):
    torch.manual_seed(0)
    mu, log_sigma = q_params
    exact = analytic_gradient(linear, mu, log_sigma)
    f = lambda z: linear.log_joint(XT64, z)  # noqa: E731
    score = gradient_variance("score", f, mu, log_sigma, n_draws=20000)
    reparam = gradient_variance("reparam", f, mu, log_sigma, n_draws=20000)
    se = (score.variance / 20000).sqrt()
    assert ((score.mean - exact).abs() < 4 * se).all()
    assert (reparam.variance < score.variance).all()
    assert reparam.variance.sum() < score.variance.sum() / 100


def test_gradient_functions_agree_with_gradient_variance(linear, q_params):
    f = lambda z: linear.log_joint(XT64, z)  # noqa: E731
    for name, single in (("score", score_function_gradient), ("reparam", reparam_gradient)):
        torch.manual_seed(0)
        g = single(f, *q_params, n_samples=3, n_draws=50)
        torch.manual_seed(0)
        stats = gradient_variance(name, f, *q_params, n_samples=3, n_draws=50)
        assert g.shape == (50, 4, 6)
        torch.testing.assert_close(stats.mean, g.mean(0))
        torch.testing.assert_close(stats.variance, g.var(0))
    with pytest.raises(ValueError, match="estimator"):
        gradient_variance("pathwise", lambda z: z.sum(-1), *q_params)
    with pytest.raises(ValueError, match=r"\[N, M\]"):
        reparam_gradient(lambda z: z.sum(-1), q_params[0][0], q_params[1][0])


@pytest.fixture(scope="module")
def model():
    return VAE(latent_dim=4, hidden=(32,), seed=0)


def test_importance_sampled_bound_does_not_depend_on_chunk_size(model):
    torch.manual_seed(0)
    big = log_marginal_is(model, XT, 300)
    torch.manual_seed(0)
    small = log_marginal_is(model, XT, 300, max_elements=32 * 64 * 7)  # chunks of 7 samples
    torch.testing.assert_close(big, small)
    assert big.shape == (32,)


def test_the_draws_and_the_estimate_do_not_depend_on_max_elements():
    # 3 images x M = 3: a chunk of 5 samples is 45 normal numbers, not a multiple of torch's 16
    # (a sample's numbers would shift if chunks were drawn one by one)
    categorical = VAE(latent_dim=3, hidden=(16,), likelihood="categorical", seed=0)
    x = XT[:3]
    estimates = []
    for max_elements in (MAX_ELEMENTS, 3 * 64 * 17 * 5, 1):  # chunks of all, 5 and 1 samples
        torch.manual_seed(0)
        estimates.append(log_marginal_is(categorical, x, 200, max_elements=max_elements))
    torch.testing.assert_close(estimates[1], estimates[0], rtol=1e-6, atol=0)
    torch.testing.assert_close(estimates[2], estimates[0], rtol=1e-6, atol=0)


def test_a_chunk_counts_every_output_of_the_decoder_and_every_likelihood_term():
    x = XT[:4]  # N = 4, D = 64
    binomial, categorical = VAE(likelihood="binomial"), VAE(likelihood="categorical")
    assert points_per_chunk(binomial, x, 4 * 64 * 10) == 10
    assert points_per_chunk(categorical, x, 4 * 64 * 17 * 10) == 10  # 17 logits per pixel
    # a z shared by all images: 17 x 64 decoder outputs, or N x 64 terms where N > 17
    assert points_per_chunk(categorical, x, 17 * 64 * 10, rows=1) == 10
    assert points_per_chunk(categorical, XT, 32 * 64 * 10, rows=1) == 10
    assert points_per_chunk(LinearGaussian.max_likelihood(X64, 2), XT64, 4 * 64 * 3) == 3
    assert points_per_chunk(categorical, x, 1) == 1  # at least one point
    for bad in (0, -5, 2.5):
        with pytest.raises(ValueError, match="max_elements"):
            points_per_chunk(binomial, x, bad)


def test_k_equal_one_is_a_single_sample_elbo_and_gap_is_positive(model):
    torch.manual_seed(0)
    one = torch.stack([log_marginal_is(model, XT, 1) for _ in range(400)]).mean(0)
    elbo = model.elbo(XT, n_samples=400).detach()
    assert (one - elbo).abs().mean() < 1.0
    torch.manual_seed(0)
    assert kl_gap_estimate(model, XT, k=500).mean() > 0


def test_kl_per_dimension_sums_to_the_kl_term(model):
    per_dim = kl_per_dimension(model, XT)
    assert per_dim.shape == (4,)
    torch.testing.assert_close(per_dim.sum(), model.elbo_terms(XT).kl.mean().detach())
    assert active_units(model, XT).shape == (4,)
    assert active_units(model, XT, threshold=-1.0).all()


def test_bad_k_and_missing_proposal_raise(model, linear):
    for k in (0, -3, 1.5):
        with pytest.raises(ValueError, match="k must be"):
            log_marginal_is(model, XT, k)
    with pytest.raises(ValueError, match="proposal"):
        log_marginal_is(linear, XT64, 10)
    with pytest.raises(ValueError, match="batch shape"):
        log_marginal_is(linear, XT64, 10, q=linear.best_diagonal_q(XT64[:2]))
    with pytest.raises(ValueError, match=r"event shape \[3\]"):
        log_marginal_is(linear, XT64, 10, q=diagonal_gaussian(torch.zeros(4, 2), torch.zeros(4, 2)))
