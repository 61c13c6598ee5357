"""Training: it raises the held-out ELBO, it is repeatable, and it rejects bad settings."""

import subprocess
import sys

import pytest
import torch

from vae import VAE, fit, load_digits
from vae.train import FusedAdam, fused_adam_available, maximize

X, XT = load_digits("train"), load_digits("test")


def test_training_raises_the_held_out_elbo():
    model = VAE(latent_dim=2, hidden=(64,), seed=0)
    before = model.elbo(XT).mean().item()
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
    assert torch.isfinite(model.elbo(XT[:8])).all()  # CPU data still work


def test_beta_weights_the_kl_term_so_a_larger_beta_buys_a_smaller_rate():
    kl = {}
    for beta in (0.5, 1.0, 8.0):
        model = VAE(latent_dim=2, hidden=(32,), seed=0)
        fit(model, X[:512], epochs=8, lr=5e-3, beta=beta, progress=False, device="cpu")
        with torch.no_grad():
            kl[beta] = model.elbo_terms(XT).kl.mean().item()
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
            kls.append(model.elbo_terms(X).kl.mean().item())
    assert kls[1] > kls[0] + 0.25


@pytest.mark.parametrize("fused", [True, False])
def test_fused_adam_moves_the_parameters_exactly_as_torch_adam_does(fused):
    if fused and not fused_adam_available("cpu"):
        pytest.skip("this torch has no fused Adam on CPU (torch < 2.4)")
    torch.manual_seed(0)
    x = torch.randint(0, 17, (64, 64)).float()
    ours, theirs = VAE(latent_dim=3, seed=0), VAE(latent_dim=3, seed=0)
    opt_ours = FusedAdam(ours.parameters(), lr=5e-3, fused=fused)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=5e-3, fused=fused, foreach=False)
    for step in range(5):
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            torch.manual_seed(step)  # the same noise eps for both
            model.zero_grad(set_to_none=True)
            (-model.elbo(x).mean()).backward()
            opt.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)


def test_training_does_not_import_torch_dynamo():
    code = (
        "import sys, torch, vae\n"
        "vae.fit(vae.VAE(latent_dim=2), torch.zeros(8, 64), epochs=1, progress=False)\n"
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_fused_adam_is_used_on_cpu_where_torch_has_it():
    # torch >= 2.4 has the fused CPU kernel (pytorch/pytorch#123074); older versions fall back
    expected = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 4)
    assert fused_adam_available("cpu") == expected
    assert FusedAdam([torch.zeros(2, requires_grad=True)], lr=1e-3).fused == expected


def test_maximize_hands_the_objective_aligned_rows_of_every_tensor_and_numbered_steps():
    model = torch.nn.Linear(1, 1)
    x, index = torch.arange(10.0)[:, None], torch.arange(10)  # row i of x holds i
    seen, steps = [], []

    def objective(batch, step):
        xb, ib = batch
        assert torch.equal(xb[:, 0], ib.float())  # the rows of both tensors stay together
        seen.append(ib)
        steps.append(step)
        elbo = -(model(xb).squeeze(1) ** 2)  # [B]
        return elbo, elbo.mean()

    history = maximize(
        model, (x, index), objective, epochs=2, batch_size=4, lr=1e-2, progress=False, device="cpu"
    )
    assert steps == list(range(1, 7))  # minibatches of 4, 4 and 2 rows, twice
    assert [len(b) for b in seen] == [4, 4, 2] * 2
    for epoch in range(2):  # each epoch visits every row once, in a new order
        assert sorted(torch.cat(seen[3 * epoch : 3 * epoch + 3]).tolist()) == list(range(10))
    assert not torch.equal(torch.cat(seen[:3]), torch.cat(seen[3:]))
    assert len(history.train_elbo) == 2 and history.test_elbo == []


def test_maximize_rejects_tensors_that_disagree_on_the_number_of_rows():
    model = torch.nn.Linear(1, 1)
    data = (torch.zeros(10, 1), torch.zeros(9))
    with pytest.raises(ValueError, match="same number of rows"):
        maximize(model, data, lambda b, s: (b[0][:, 0], b[0].sum()), 1, 4, 1e-2, progress=False)
