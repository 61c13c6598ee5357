"""The conditional VAE: its ELBO bounds log p(x | y), the label-marginal bound bounds log p(x),
and training is seeded."""

import math

import pytest
import torch
from torch.distributions import Normal

from vae import ConditionalVAE, fit_conditional, load_digits

X, Y = load_digits("test", return_labels=True)
X, Y = X[:40], Y[:40]


@pytest.fixture(scope="module")
def model():
    return ConditionalVAE(latent_dim=2, hidden=(16,), seed=1)


def test_elbo_has_one_value_per_image_and_equals_loglik_minus_kl(model):
    torch.manual_seed(0)
    out = model.elbo_terms(X, Y, n_samples=3)
    assert out.elbo.shape == out.log_likelihood.shape == out.kl.shape == (40,)
    torch.testing.assert_close(out.elbo, out.log_likelihood - out.kl)
    assert (out.kl >= 0).all() and torch.isfinite(out.elbo).all()


def test_both_networks_see_the_label(model):
    other = (Y + 1) % 10
    q, q_other = model.encode(X, Y), model.encode(X, other)
    assert not torch.allclose(q.mean, q_other.mean)
    z = torch.zeros(40, 2)
    assert not torch.allclose(model.decode(z, Y).mean, model.decode(z, other).mean)


def test_decode_broadcasts_the_labels_over_a_sample_axis(model):
    z = torch.randn(7, 40, 2)
    p = model.decode(z, Y)
    assert p.batch_shape == (7, 40) and p.event_shape == (64,)
    torch.testing.assert_close(p.mean[3], model.decode(z[3], Y).mean)


def test_elbo_per_class_scores_each_image_under_every_label(model):
    torch.manual_seed(0)
    per = model.elbo_per_class(X[:5], n_samples=2)
    assert per.shape == (5, 10)
    torch.manual_seed(0)
    for c in range(3):  # the same draws, in the same order
        y = torch.full((5,), c, dtype=torch.long)
        torch.testing.assert_close(per[:, c], model.elbo(X[:5], y, n_samples=2))


def test_label_marginal_bound_is_a_logsumexp_over_the_classes(model):
    log_pi = torch.log_softmax(torch.arange(10.0) / 5, 0)
    torch.manual_seed(0)
    per = model.elbo_per_class(X, n_samples=2)
    torch.manual_seed(0)
    bound = model.log_marginal_bound(X, log_pi, n_samples=2)
    torch.testing.assert_close(bound, torch.logsumexp(per + log_pi, -1))
    best = (per + log_pi).max(-1).values
    assert (bound >= best - 1e-5).all() and (bound <= best + math.log(10) + 1e-5).all()
    torch.manual_seed(0)
    uniform = model.log_marginal_bound(X, n_samples=2)
    torch.testing.assert_close(uniform, torch.logsumexp(per, -1) - math.log(10))


def _log_p_x_given_y_by_quadrature(model, x, y):
    """log p(x | y) for M = 1 by the trapezoid rule on z in [-8, 8] (the prior's tails beyond
    carry less than 1e-14 of its mass)."""
    z = torch.linspace(-8, 8, 4001, dtype=torch.float64)[:, None, None]  # [G, 1, 1]
    zz = z.expand(-1, len(x), 1)
    log_joint = Normal(0.0, 1.0).log_prob(z[..., 0]) + model.decode(zz, y).log_prob(x)  # [G, N]
    dz = z[1, 0, 0] - z[0, 0, 0]
    w = torch.full((len(z),), math.log(dz))
    w[[0, -1]] -= math.log(2)
    return torch.logsumexp(log_joint + w[:, None], 0)


def test_elbo_and_label_marginal_bound_stay_below_the_exact_log_likelihoods():
    m = ConditionalVAE(latent_dim=1, hidden=(16,), seed=0).double()
    x, y = X[:8].double(), Y[:8]
    with torch.no_grad():
        log_p_xy = torch.stack(
            [_log_p_x_given_y_by_quadrature(m, x, torch.full((8,), c)) for c in range(10)], -1
        )  # [N, C]: log p(x | y) for every label
        torch.manual_seed(0)
        elbo = m.elbo(x, y, n_samples=2000)
        bound = m.log_marginal_bound(x, n_samples=2000)
    exact_given_y = log_p_xy.gather(1, y[:, None])[:, 0]
    exact_x = torch.logsumexp(log_p_xy - math.log(10), -1)  # log p(x), the label summed out
    assert (elbo <= exact_given_y + 0.05).all()  # 0.05: Monte Carlo noise of 2,000 draws
    assert (bound <= exact_x + 0.05).all()


def test_samples_have_the_data_shape_and_a_given_z_fixes_them(model):
    y = torch.arange(10)
    x = model.sample(y)
    assert x.shape == (10, 64) and (x >= 0).all() and (x <= 16).all()
    z = torch.randn(10, 2)
    torch.testing.assert_close(model.sample(y, z=z), model.sample(y, z=z))
    draws = model.sample(y, z=z, mean=False)
    assert torch.equal(draws, draws.round())  # counts


@pytest.mark.parametrize(
    "y, message",
    [
        (Y.float(), "torch.long"),
        (Y[:10], "shape"),
        (torch.full((40,), 10), "labels in 0..9"),
        (torch.full((40,), -1), "labels in 0..9"),
    ],
)
def test_bad_labels_are_a_clear_value_error(model, y, message):
    with pytest.raises(ValueError, match=message):
        model.elbo(X, y)


def test_bad_images_and_label_priors_are_a_clear_value_error(model):
    with pytest.raises(ValueError, match="counts"):
        model.elbo(X + 0.5, Y)
    with pytest.raises(ValueError, match="sum to 1"):
        model.log_marginal_bound(X, torch.zeros(10))
    with pytest.raises(ValueError, match="shape"):
        model.sample(torch.arange(3), z=torch.zeros(3, 5))
    with pytest.raises(ValueError, match="likelihood"):
        ConditionalVAE(likelihood="poisson")


def test_training_is_seeded_improves_the_elbo_and_leaves_the_global_rng_alone():
    x, y = load_digits("train", return_labels=True)
    x, y = x[:256], y[:256]
    runs = []
    for _ in range(2):
        m = ConditionalVAE(latent_dim=2, hidden=(16,), seed=0)
        state = torch.random.get_rng_state()
        h = fit_conditional(m, x, y, epochs=5, batch_size=64, lr=1e-2, seed=3, device="cpu")
        assert torch.equal(torch.random.get_rng_state(), state)
        runs.append((h, m))
    (h1, m1), (h2, m2) = runs
    assert h1.train_elbo == h2.train_elbo and len(h1.train_elbo) == 5
    assert h1.train_elbo[-1] > h1.train_elbo[0]
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)


def test_categorical_decoder_trains_on_counts():
    m = ConditionalVAE(latent_dim=2, hidden=(16,), likelihood="categorical", seed=0)
    h = fit_conditional(m, X, Y, epochs=3, batch_size=20, lr=1e-2, device="cpu")
    assert all(math.isfinite(v) for v in h.train_elbo)
