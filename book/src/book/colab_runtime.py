"""A virtual environment with Colab's pins (``tools/colab-runtime.txt``), cached on disk.

``python -m book.colab_runtime [DIR]`` makes (or reuses) it; the tests call :func:`ensure`.
It is reused while the pins file is unchanged (its hash is stored in the venv). It holds
Colab's versions of what the book's notebooks touch, and not ``vae`` or ``vae-book``: the
notebooks' install cell puts them there, and :func:`remove_vae` takes them out again. The
torch wheel comes from ``$VAE_TORCH_WHEELS`` (default ``/opt/wheels``) when it holds one, else
from the index.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PINS = ROOT / "tools" / "colab-runtime.txt"
DEFAULT_DIR = Path(os.environ.get("VAE_COLAB_VENV", ROOT / ".venvs" / "colab"))  # gitignored
PYTHON = "3.11"  # stand-in for Colab's 3.13 (tools/colab-runtime.txt)
KERNEL = "colab-pins"


def pins() -> dict[str, str]:
    """``name -> version`` of the pins file."""
    out = {}
    for line in PINS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            out[name.strip().lower()] = version.strip()
    return out


def environment() -> dict[str, str]:
    """The environment to run the venv's python in: this checkout's ``src`` (PYTHONPATH), the
    user's site-packages and any models trained elsewhere (``$BOOK_TRAINED_DIR``) hidden, as on
    Colab, where a notebook trains its models itself."""
    env = {**os.environ, "PYTHONNOUSERSITE": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("BOOK_TRAINED_DIR", None)
    return env


def _key() -> str:
    return hashlib.sha256(PINS.read_bytes()).hexdigest()


def python_of(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


def ensure(env_dir: Path = DEFAULT_DIR) -> Path:
    """The venv's python, after making the venv if it is missing or its pins changed."""
    stamp = env_dir / ".colab-pins.sha256"
    if stamp.is_file() and stamp.read_text() == _key() and python_of(env_dir).is_file():
        return python_of(env_dir)
    base = shutil.which(f"python{PYTHON}")
    if base is None:
        raise RuntimeError(f"python{PYTHON} is not on PATH: it makes the Colab-pinned venv")
    shutil.rmtree(env_dir, ignore_errors=True)
    subprocess.run([base, "-m", "venv", str(env_dir)], check=True)
    py = str(python_of(env_dir))
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    wheels = Path(os.environ.get("VAE_TORCH_WHEELS", "/opt/wheels"))
    requirements = []
    for name, version in pins().items():
        local = sorted(wheels.glob(f"{name}-{version}*cp311*.whl")) if wheels.is_dir() else []
        requirements.append(str(local[0]) if local else f"{name}=={version}")
    subprocess.run([*pip, *requirements], check=True, timeout=1200, env=environment())
    stamp.write_text(_key())
    return python_of(env_dir)


def freeze(py: Path) -> dict[str, str]:
    """``name -> version`` of every distribution in the venv (``importlib.metadata``)."""
    code = (
        "import json, importlib.metadata as m; "
        "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))"
    )
    out = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, check=True, env=environment()
    )
    return json.loads(out.stdout)


def remove_vae(py: Path) -> None:
    """Uninstall ``vae`` and ``vae-book`` from the venv (the state of a fresh Colab runtime)."""
    subprocess.run(
        [str(py), "-m", "pip", "uninstall", "--quiet", "--yes", "vae", "vae-book"],
        check=True,
        capture_output=True,
        env=environment(),
    )


def kernel_spec(py: Path, folder: Path) -> dict[str, str]:
    """Write a kernelspec named :data:`KERNEL` for ``py`` under ``folder/kernels``; returns
    the environment that makes Jupyter find it and start it as on Colab (:func:`environment`)."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    return {**environment(), "JUPYTER_PATH": str(folder)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    py = ensure(args.dir)
    print(py)
    for name, version in sorted(freeze(py).items()):
        if name in pins():
            print(f"  {name}=={version}")


if __name__ == "__main__":
    main(sys.argv[1:])
