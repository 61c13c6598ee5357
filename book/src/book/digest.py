"""The digest of the ``vae`` package's source: the one key the build's caches share.

``python -m book.digest`` prints it (tools/build_book.sh keys the jupyter-cache on it);
:func:`book.reuse.trained` keys trained models on :func:`package_digest` without the parts
that cannot change a training run (the widgets, the plots), so editing a widget's docstring
keeps every trained model.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

import vae

#: Parts of the package that a training run never executes.
NOT_TRAINING = ("widgets/", "plot.py")


def package_root() -> Path:
    """The folder of the ``vae`` package imported here."""
    return Path(vae.__file__).resolve().parent


@functools.cache
def package_digest(exclude: tuple[str, ...] = ()) -> str:
    """sha256 over the relative paths and bytes of the package's ``.py`` files, leaving out
    those whose relative path starts with one of ``exclude``."""
    root = package_root()
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(exclude):
            continue
        h.update(rel.encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def main(argv: list[str]) -> int:
    """Print the digest of the package and of each file named in ``argv`` (e.g. requirements)."""
    h = hashlib.sha256(package_digest().encode())
    for name in argv:
        h.update(Path(name).read_bytes())
    print(h.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
