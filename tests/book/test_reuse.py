"""book.trained (book/reuse.py): a model trained once is loaded wherever the run recurs."""

from __future__ import annotations

import torch

import vae
from book import reuse
from book.reuse import trained

X = vae.load_digits("train")[:256]
XT = vae.load_digits("test")[:64]


def test_a_repeated_run_loads_the_weights_and_history_instead_of_training(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(reuse.ENV, raising=False)
    runs = []
    for lr in (1e-3, 1e-3, 2e-3):
        model = vae.VAE(latent_dim=2, hidden=(16,), seed=0)
        runs.append((trained(model, X, XT, epochs=2, lr=lr, progress=False), model))
    (h1, m1), (h2, m2), (h3, _) = runs
    assert len(list((tmp_path / reuse.CACHE).glob("*.pt"))) == 2  # one per distinct run
    # the second run was loaded, not trained again: even its wall-clock time is the first's
    assert h2 == h1 and h2.seconds == h1.seconds > 0
    assert h3.test_elbo != h1.test_elbo  # the third (another lr) was a miss
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))
    # and vae.fit itself, with the same arguments, gives the same numbers: nothing but speed
    fresh = vae.VAE(latent_dim=2, hidden=(16,), seed=0)
    assert vae.fit(fresh, X, XT, epochs=2, lr=1e-3, progress=False).test_elbo == h1.test_elbo


def test_outside_a_book_it_simply_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no _toc.yml here or above
    monkeypatch.delenv(reuse.ENV, raising=False)
    model = vae.VAE(latent_dim=2, hidden=(16,), seed=0)
    history = trained(model, X, epochs=1, progress=False)
    assert len(history.train_elbo) == 1 and not list(tmp_path.rglob("*.pt"))


def test_another_initialization_is_another_key():
    a, b = vae.VAE(latent_dim=2, hidden=(16,), seed=0), vae.VAE(latent_dim=2, hidden=(16,), seed=1)
    data = {"x_train": X}
    assert reuse.key(a, data, {}) != reuse.key(b, data, {})


def test_a_build_into_another_folder_keeps_its_models_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no _toc.yml: only the variable names a folder
    monkeypatch.setenv(reuse.ENV, str(tmp_path / "elsewhere"))
    trained(vae.VAE(latent_dim=2, hidden=(16,), seed=0), X, epochs=1, progress=False)
    assert len(list((tmp_path / "elsewhere").glob("VAE-binomial-M2-*.pt"))) == 1
