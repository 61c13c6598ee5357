"""Training: it raises the held-out ELBO, it is repeatable, and it rejects bad settings."""

import os
import subprocess
import sys

import pytest
import torch

from vae import VAE, fit, load_digits
from vae.train import FusedAdam

X, XT = load_digits("train"), load_digits("test")


def test_training_raises_the_held_out_elbo():
    model = VAE(latent_dim=2, hidden=(64,), seed=0)
    before = model.elbo(XT).elbo.mean().item()
    history = fit(model, X, XT, epochs=15, progress=False, device="cpu")
    assert len(history.train_elbo) == len(history.test_elbo) == 15
    assert history.test_elbo[-1] > before + 50
    assert history.test_elbo[-1] > history.test_elbo[0]
    assert history.seconds > 0


def test_two_seeded_runs_give_identical_histories_and_weights():
    runs = []
    for _ in range(2):
        model = VAE(latent_dim=2, hidden=(32,), seed=3)
        runs.append((fit(model, X, XT, epochs=3, seed=5, progress=False, device="cpu"), model))
    (h1, m1), (h2, m2) = runs
    assert h1.train_elbo == h2.train_elbo and h1.test_elbo == h2.test_elbo
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_fit_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    fit(VAE(hidden=(16,)), X[:64], epochs=1, progress=False, device="cpu")
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_samples": 0}, "n_samples"),
        ({"lr": -1.0}, "lr"),
        ({"x_test": XT[:, :10]}, "shape"),
        ({"x_train": X + 0.5}, "counts"),
        ({"kl_warmup": -1}, "kl_warmup"),
        ({"free_bits": -0.1}, "free_bits"),
        (
            {"model": VAE(latent_dim=2, hidden=(16,), full_covariance=True), "free_bits": 0.5},
            "diagonal",
        ),
    ],
)
def test_bad_settings_raise_value_error(kwargs, message):
    args = {"model": VAE(hidden=(16,)), "x_train": X[:10], "progress": False} | kwargs
    with pytest.raises(ValueError, match=message):
        fit(**args)


def test_model_is_returned_on_the_device_it_came_on():
    model = VAE(hidden=(16,))
    fit(model, X[:64], epochs=1, progress=False)  # CUDA if present, else CPU
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert torch.isfinite(model.elbo(XT[:8]).elbo).all()  # CPU data still work


def test_beta_weights_the_kl_term_so_a_larger_beta_buys_a_smaller_rate():
    kl = {}
    for beta in (0.5, 1.0, 8.0):
        model = VAE(latent_dim=2, hidden=(32,), seed=0)
        fit(model, X[:512], epochs=8, lr=5e-3, beta=beta, progress=False, device="cpu")
        with torch.no_grad():
            kl[beta] = model.elbo(XT).kl.mean().item()
    assert kl[0.5] > kl[1.0] > kl[8.0]
    with pytest.raises(ValueError, match="beta"):
        fit(VAE(), X, epochs=1, beta=-1.0, progress=False)


@pytest.mark.parametrize("remedy", [{"kl_warmup": 30}, {"free_bits": 1e6}])
def test_kl_annealing_and_free_bits_weaken_the_pull_of_q_toward_the_prior(remedy):
    # A KL weight still below 0.1 at the end of the run, or a free-bits threshold above any KL,
    # lowers the price of information: the encoder's KL to the prior ends higher than with the
    # plain ELBO.
    kls = []
    for kwargs in ({}, remedy):
        model = VAE(latent_dim=2, hidden=(32,), seed=0)
        fit(model, X, epochs=3, seed=0, progress=False, device="cpu", **kwargs)
        with torch.no_grad():
            kls.append(model.elbo(X).kl.mean().item())
    assert kls[1] > kls[0] + 0.25


def test_cached_run_returns_the_same_weights_and_history_without_training(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_FIT_CACHE", str(tmp_path))
    runs = []
    for lr in (1e-3, 1e-3, 2e-3):
        model = VAE(latent_dim=2, hidden=(16,), seed=0)
        runs.append((fit(model, X[:256], XT[:64], epochs=2, lr=lr, progress=False), model))
    (h1, m1), (h2, m2), (h3, m3) = runs
    assert len(list(tmp_path.glob("*.pt"))) == 2  # one record per distinct run
    # the second run was loaded, not trained again: even its wall-clock time is the first's
    assert h2 == h1 and h2.seconds == h1.seconds > 0
    assert h3.test_elbo != h1.test_elbo  # the third (another lr) was a miss
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))
    monkeypatch.delenv("VAE_FIT_CACHE")
    model = VAE(latent_dim=2, hidden=(16,), seed=0)
    assert fit(model, X[:256], XT[:64], epochs=2, progress=False).test_elbo == h1.test_elbo


def test_fused_adam_moves_the_parameters_exactly_as_torch_adam_does():
    torch.manual_seed(0)
    x = torch.randint(0, 17, (64, 64)).float()
    ours, theirs = VAE(latent_dim=3, seed=0), VAE(latent_dim=3, seed=0)
    opt_ours = FusedAdam(ours.parameters(), lr=5e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=5e-3, fused=True)
    for step in range(5):
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            torch.manual_seed(step)  # the same noise eps for both
            model.zero_grad(set_to_none=True)
            (-model.elbo(x).elbo.mean()).backward()
            opt.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)


def test_training_does_not_import_torch_dynamo():
    code = (
        "import sys, torch, vae\n"
        "vae.fit(vae.VAE(latent_dim=2), torch.zeros(8, 64), epochs=1, progress=False)\n"
        "print('torch._dynamo' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "VAE_FIT_CACHE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr
