"""An on-disk cache of trained models, so a book build does not train the same model twice.

:func:`vae.train.fit` uses it only when the environment variable ``VAE_FIT_CACHE`` names a
folder (``tools/build_book.sh`` sets it to ``_build/.fit-cache``); otherwise nothing is read
or written. A run is looked up by a key that covers everything its result depends on:

* the source of the ``vae`` package and the torch version;
* the model: its architecture and settings, and its initial weights;
* the data (``x_train``, ``x_test``) and every argument of ``fit``;
* the device type and the number of torch threads (both can change the rounding).

A hit loads the trained weights into the model and returns the recorded history (its
``seconds`` are those of the run that trained it). Writes are atomic (a temporary file, then a
rename), so parallel builds never read half a file.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

ENV = "VAE_FIT_CACHE"


def cache_dir() -> Path | None:
    """The cache folder named by ``$VAE_FIT_CACHE``, or None (no caching)."""
    folder = os.environ.get(ENV)
    return Path(folder) if folder else None


@functools.cache
def _package_digest() -> str:
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


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

    add(_package_digest(), torch.__version__, torch.get_num_threads(), device)
    add(type(model).__qualname__, repr(model), _settings(model), sorted(args.items()))
    for name, t in [*model.state_dict().items(), *sorted(data.items())]:
        add(name)
        if isinstance(t, Tensor):
            add(t.dtype, tuple(t.shape))
            h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            add(t)
    return h.hexdigest()


def load(path: Path, model: nn.Module) -> dict[str, Any] | None:
    """Load the trained weights stored at ``path`` into ``model``; return the stored record
    (the history's fields and the model's final mode), or None if there is no such file."""
    if not path.is_file():
        return None
    record = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(record.pop("state_dict"))
    model.train(record.pop("training"))
    return record


def save(path: Path, model: nn.Module, record: dict[str, Any]) -> None:
    """Store the trained weights of ``model`` and ``record`` at ``path`` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save({**record, "state_dict": state, "training": model.training}, tmp)
    os.replace(tmp, path)
