"""Pytest plugin: run the book's chapters as notebooks with nbval, through its public options.

Every ``chapters/*.md`` with a jupytext header is a test file: at collection time the chapter
is converted with jupytext into a temporary folder (never next to the ``.md``: Sphinx would
then find two sources for one page), and nbval's own ``pytest_collect_file`` hook collects the
converted notebook. nbval runs with ``--nbval-lax`` (a converted notebook has no stored outputs
to compare: every cell must run without error) and ``--nbval-current-env`` (the kernel is the
Python running pytest); both are in ``addopts`` in ``pyproject.toml``. The numbers that matter
are pinned by ``assert`` statements in cells tagged ``remove-cell`` in the chapters: hidden in
the book, executed here and by the book build.

One chapter: ``pytest chapters/03-elbo.md``. The chapters are those of ``_toc.yml``
(:func:`book.toc.chapters`); markers are declared in ``pyproject.toml``. The fixtures of the
book-build tests are in ``tests/conftest.py``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jupytext
import pytest

from book.toc import chapters

ROOT = Path(__file__).resolve().parent
CHAPTERS = frozenset(chapters(ROOT))
"""The chapters that execute, from ``_toc.yml`` (the list the book build uses too)."""


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".md" and file_path.resolve() in CHAPTERS:
        return Chapter.from_parent(parent, path=file_path)
    return None


class Chapter(pytest.File):
    """A chapter ``.md``, converted to a temporary ``.ipynb`` that nbval collects.

    Test ids read ``chapters/03-elbo.md::03-elbo.ipynb::Cell 4``.
    """

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        tmpdir = Path(tempfile.mkdtemp(prefix="vae-chapter-"))
        self.session.config.add_cleanup(lambda: shutil.rmtree(tmpdir, ignore_errors=True))
        notebook = tmpdir / f"{self.path.stem}.ipynb"
        jupytext.write(jupytext.read(self.path), notebook)
        # nbval's pytest_collect_file answers for .ipynb files (the one above ignores them).
        found = self.ihook.pytest_collect_file(file_path=notebook, parent=self)
        if not found:
            raise pytest.UsageError(f"{self.path.name}: nbval collects notebooks with --nbval-lax")
        yield from found
