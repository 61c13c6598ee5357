"""Build the whole book from scratch and fail on any Sphinx warning or cell error.

Slow (every chapter executes): marked ``book``; deselect with ``pytest -m "not book"``.
The build (the ``book_build`` fixture in ``conftest.py``) goes to a temporary folder with its
own, empty jupyter-cache, so it executes every chapter against the current ``vae`` package,
with the same script as ``make book`` (``tools/build_book.sh``: ``jupyter-book build --all
-W -n --keep-going``, execution errors raise). The launch-button and browser tests reuse it.
"""

from __future__ import annotations

import pytest


@pytest.mark.book
def test_book_builds_without_warnings(book_build) -> None:
    assert book_build.returncode == 0, "book build failed:\n" + "\n".join(
        book_build.problems or [book_build.log[-6000:]]
    )
    assert not book_build.problems, "book build reported problems:\n" + "\n".join(
        book_build.problems
    )
    assert (book_build.html / "intro.html").is_file()
