"""Trained models shared across chapters: train once, load wherever the same model is trained.

A chapter that trains a model another chapter also trains (the same architecture, initial
weights, data and settings) says so where it trains it::

    history = book.trained(model, x_train, x_test, epochs=100, lr=5e-3, seed=0, progress=False)

which is ``vae.fit`` with the same arguments, except that the result is stored in
``_build/.trained`` (beside the book's ``_toc.yml``) and a later call with the same inputs, in
any chapter and any order, loads it instead of training again. The key covers everything the
result depends on:

* the source of the ``vae`` package that training runs (:mod:`book.digest`), torch's version;
* the model: its class, ``repr``, plain settings and initial weights;
* the data (tensors hashed by value) and every argument of ``vae.fit``;
* the device type and the number of torch threads (both can change the rounding).

Where no ``_toc.yml`` is found (a notebook opened alone, e.g. on Colab) it simply trains.
(The library, ``vae``, reads no environment variable; this machinery of the book reads one,
:data:`ENV`, for builds into another folder.)
Two builds that need the same model at once take turns (a lock file); writes are atomic.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import vae
from book.digest import NOT_TRAINING, package_digest
from book.toc import find_root

CACHE = Path("_build") / ".trained"
"""Where trained models are kept, relative to the book's root folder."""

ENV = "BOOK_TRAINED_DIR"
"""Names another folder for them: ``tools/build_book.sh --output DIR`` sets it to
``DIR/_build/.trained``, so that a build into DIR starts with no trained models."""


def cache_dir() -> Path | None:
    """``$BOOK_TRAINED_DIR``, else ``_build/.trained`` under the book's root (found from the
    working folder), else None (no caching)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    root = find_root()
    return root / CACHE if root is not None else None


def _settings(module: nn.Module) -> list[tuple[str, str]]:
    """The plain (int, float, str, bool, tuple) attributes of every submodule, e.g. sizes."""
    out = []
    for name, m in module.named_modules():
        for k, v in sorted(vars(m).items()):
            plain = isinstance(v, int | float | str | bool | tuple)
            if plain and not k.startswith("_") and k != "training":
                out.append((f"{name}.{k}", repr(v)))
    return out


def key(model: nn.Module, data: dict[str, Any], args: dict[str, Any]) -> str:
    """A hex digest of everything a training run's result depends on (see the module doc):
    ``data`` maps names to tensors (hashed by value) or plain values, ``args`` the settings."""
    h = hashlib.sha256()
    device = next(model.parameters()).device.type

    def add(*parts: object) -> None:
        for part in parts:
            h.update(repr(part).encode())

    add(package_digest(NOT_TRAINING), torch.__version__, torch.get_num_threads(), device)
    add(type(model).__qualname__, repr(model), _settings(model), sorted(args.items()))
    for name, t in [*model.state_dict().items(), *sorted(data.items())]:
        add(name)
        if isinstance(t, Tensor):
            add(t.dtype, tuple(t.shape))
            h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            add(t)
    return h.hexdigest()


def label(model: nn.Module) -> str:
    """A readable name for the file of a trained model, e.g. ``VAE-binomial-M2``."""
    parts = [type(model).__name__, getattr(model, "likelihood", ""), f"M{model.latent_dim}"]
    return "-".join(str(p) for p in parts if p)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (POSIX); elsewhere, no lock."""
    try:
        import fcntl
    except ImportError:  # Windows: two builds may then both train; the results are the same
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load(path: Path, model: nn.Module) -> vae.History | None:
    if not path.is_file():
        return None
    record = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(record.pop("state_dict"))
    model.train(record.pop("training"))
    return vae.History(**record)


def _save(path: Path, model: nn.Module, history: vae.History) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    record = {**dataclasses.asdict(history), "state_dict": state, "training": model.training}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(record, tmp)
    os.replace(tmp, path)


def trained(
    model: vae.VAE, x_train: Tensor, x_test: Tensor | None = None, **settings: Any
) -> vae.History:
    """``vae.fit(model, x_train, x_test, **settings)``, or the stored result of the same run.

    On a hit the trained weights are loaded into ``model`` and the recorded history returned
    (its ``seconds`` are those of the run that trained it). See the module doc for the key.
    """
    folder = cache_dir()
    if folder is None:
        return vae.fit(model, x_train, x_test, **settings)
    device = settings.get("device") or vae.train.default_device()
    data = {"x_train": x_train, "x_test": x_test, "device": torch.device(device).type}
    args = {k: v for k, v in settings.items() if k not in ("progress", "device")}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{label(model)}-{key(model, data, args)[:32]}.pt"
    with _lock(path.with_suffix(".lock")):
        history = _load(path, model)
        if history is None:
            history = vae.fit(model, x_train, x_test, **settings)
            _save(path, model, history)
    return history
