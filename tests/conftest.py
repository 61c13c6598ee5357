"""Fixtures shared by the book-build tests: one fresh build of the whole book per session.

(The chapters themselves run as notebooks through nbval: see ``conftest.py`` at the root.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from book import notebooks, reuse
from book.repository import Repository

ROOT = Path(__file__).resolve().parent.parent

PROBLEM = re.compile(r"(^|: )(WARNING|ERROR|CRITICAL|SEVERE):|^Traceback|Exception occurred")
"""Sphinx/docutils messages ("path:line: WARNING: ..."), not a kernel's log lines."""


SAMPLE_REPOSITORY = "sample-owner/sample-book"
"""The ``GITHUB_REPOSITORY`` the test build is made for (not the one in ``_config.yml``)."""


@dataclass
class BookBuild:
    """One fresh build of the whole book: exit code, Sphinx problems, and the HTML folder."""

    returncode: int
    problems: list[str]
    log: str
    html: Path


@pytest.fixture(scope="session")
def book_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BookBuild]:
    """Build the book once per test session, from scratch, into a temporary folder.

    ``$VAE_BOOK_HTML`` names an already built ``html`` folder to use instead (to rerun the
    browser tests quickly; it must have been built with ``GITHUB_REPOSITORY`` set to
    :data:`SAMPLE_REPOSITORY`, and have ``jupyter_execute/`` beside it); otherwise the build
    has its own empty jupyter-cache, so every chapter executes against the current ``vae``
    package, and ``_build/`` is left alone.

    The models the build trained (``book.trained``, in the build's ``_build/.trained``) then
    serve the rest of the session: ``$BOOK_TRAINED_DIR`` names that folder, so the chapters run
    again by nbval and by Binder's JupyterLab load them instead of training again. They load
    only a model trained by the same code, settings, data and initial weights (the cache's key),
    and the build has just trained each one from scratch.
    """
    if os.environ.get("VAE_BOOK_HTML"):
        yield BookBuild(0, [], "", Path(os.environ["VAE_BOOK_HTML"]))
        return
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ)
    bindir = Path(sys.executable).parent
    if (bindir / "jupyter-book").exists():
        env["JUPYTER_BOOK"] = str(bindir / "jupyter-book")
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    # Built as GitHub Actions would build it in a repository of this name (a fork): every
    # button must then lead there (tests/test_launch.py), with no edit of _config.yml.
    env["GITHUB_REPOSITORY"] = SAMPLE_REPOSITORY
    proc = subprocess.run(
        ["bash", str(ROOT / "tools" / "build_book.sh"), "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)  # strip colours
    problems = [line for line in log.splitlines() if PROBLEM.search(line)]
    trained = out / "_build" / ".trained"
    with pytest.MonkeyPatch.context() as mp:
        if proc.returncode == 0 and trained.is_dir():
            mp.setenv(reuse.ENV, str(trained))
        yield BookBuild(proc.returncode, problems, log, out / "_build" / "html")


@pytest.fixture(scope="session")
def book_html(book_build: BookBuild) -> Path:
    """The built HTML folder; skips dependants if the build itself failed (its test reports)."""
    if book_build.returncode != 0 or not (book_build.html / "intro.html").is_file():
        pytest.skip("the book did not build: see test_book_builds_without_warnings")
    return book_build.html


@pytest.fixture(scope="session")
def sample_repository() -> str:
    """``OWNER/REPO`` the test build was made for: :data:`SAMPLE_REPOSITORY`."""
    return SAMPLE_REPOSITORY


@pytest.fixture(scope="session")
def colab_notebooks(book_html: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebooks branch of the test build (``make notebooks`` for
    :data:`SAMPLE_REPOSITORY`): ``chapters/*.ipynb``, ``figures/`` and ``binder/``."""
    out = tmp_path_factory.mktemp("colab")
    repo = Repository.from_config(org_repo=SAMPLE_REPOSITORY)
    notebooks.write(out, build=book_html.parent, repo=repo)
    return out


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # headless Debian chromium on a closed network: no background connections
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright, one per test module: a sync Playwright must end
    before the next module's starts in the same process."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("no /usr/bin/chromium on CI: .ci/run must run tools/install_browser.sh")
        pytest.skip("no /usr/bin/chromium: run tools/install_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
