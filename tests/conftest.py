"""Pytest plugin: run the book's chapters as notebooks with nbval.

Plain ``pytest`` collects every ``chapters/*.md`` that has a jupytext header. Each one is
converted with jupytext into a temporary folder at collection time (never next to the
``.md``: Sphinx would then find two sources for one page) and handed to nbval, in lax
mode (only cells marked for checking have their outputs compared) and with a kernel from
the Python environment running pytest. The kernel's working directory is ``chapters/``,
the folder myst-nb executes the chapter in during the book build, so relative paths such
as ``../figures/...`` resolve the same way in both.

Checked outputs. A converted notebook has no stored outputs, so nbval would have nothing
to compare ``# NBVAL_CHECK_OUTPUT`` cells with. Their expected outputs are kept in
``tests/nbval_reference/<chapter>.json`` and injected into the converted notebook before
nbval runs it: a changed printed number fails the test. To mark a cell, put
``# NBVAL_CHECK_OUTPUT`` on a line of its own in the cell, or (hidden in the book) give the
MyST code cell the tag ``nbval-check-output``::

    ```{code-cell} ipython3
    :tags: [nbval-check-output]
    print(f"ELBO = {elbo:.3f}")
    ```

then record the references with ``make update-references`` (``pytest
--update-references chapters``) and commit the JSON files. References are matched to
cells by their source text, so editing a marked cell needs a new ``make
update-references`` too; a marked cell with no reference fails with a message saying so.
Only output text is compared (images are not); print rounded numbers from seeded code.

This file is a conftest of ``tests/``: pytest loads it when it collects from the repository
root or ``tests/`` (plain ``pytest``, ``make test``). To run a single chapter, name it too:
``pytest tests/conftest.py chapters/03-elbo.md``.

Also registers the ``book`` marker (``tests/test_book_build.py``; deselect with
``-m "not book"``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import pytest
from _pytest.compat import legacy_path
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, RunningKernel
from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
REFERENCE_DIR = Path(__file__).resolve().parent / "nbval_reference"
REFERENCE_FORMAT = 1
MISSING = (
    "<no reference output recorded for this NBVAL_CHECK_OUTPUT cell: "
    "run `make update-references` and commit tests/nbval_reference/>\n"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-references",
        action="store_true",
        default=False,
        help="Run the chapters and (re)write tests/nbval_reference/*.json from the outputs "
        "of their NBVAL_CHECK_OUTPUT cells instead of comparing them.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: headless chromium on the built book; deselect with -m 'not browser'"
    )
    config.addinivalue_line(
        "markers", "binder: builds a fresh Binder-like environment (slow); -m 'not binder'"
    )
    config.addinivalue_line(
        "markers", "book: builds the whole Jupyter Book (slow); deselect with -m 'not book'"
    )
    # A conftest's collection hooks only see files below its own folder; a registered
    # plugin sees every file, so the chapters/ folder is collected from here.
    if not config.pluginmanager.has_plugin("vae-chapters"):
        config.pluginmanager.register(ChapterPlugin(config), "vae-chapters")


def has_jupytext_header(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    end = text.find("\n---", 3)
    return end != -1 and "jupytext:" in text[:end]


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """Whether nbval compares this code cell's output in lax mode (same rules as nbval)."""
    options = dict(find_metadata_tags(cell.metadata))
    options.update(dict(find_comment_markers(cell.source)))
    return options.get("check") is True


def reference_path(md_path: Path) -> Path:
    return REFERENCE_DIR / f"{md_path.stem}.json"


def load_references(md_path: Path) -> list[dict]:
    path = reference_path(md_path)
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data.get("cells", []))


class ChapterPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.update = bool(config.getoption("--update-references", default=False))
        self._tmpdir: Path | None = None
        # md path -> list of [source, outputs] captured in update mode, in cell order
        self.captured: dict[Path, list[tuple[int, str, list]]] = {}
        self.converted: dict[Path, nbformat.NotebookNode] = {}

    @property
    def tmpdir(self) -> Path:
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="vae-chapters-"))
        return self._tmpdir

    def pytest_unconfigure(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector):
        if (
            file_path.suffix != ".md"
            or file_path.parent.resolve() != CHAPTERS
            or not has_jupytext_header(file_path)
        ):
            return None
        nb_path = self.convert(file_path)
        collector = ChapterNotebook.from_parent(parent, path=file_path)
        collector.notebook_path = nb_path
        collector.plugin = self
        return collector

    def convert(self, md_path: Path) -> Path:
        """Write the chapter as .ipynb in the temp folder, with reference outputs injected."""
        nb = jupytext.read(md_path)
        references = [] if self.update else load_references(md_path)
        used = [False] * len(references)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell.execution_count = None  # nbval does not compare "unrun" cells
            if self.update or not is_checked(cell):
                continue
            outputs = None
            for i, ref in enumerate(references):
                if not used[i] and ref.get("source") == cell.source:
                    used[i] = True
                    outputs = ref.get("outputs", [])
                    break
            if outputs is None:
                outputs = [{"output_type": "stream", "name": "stdout", "text": MISSING}]
            cell.outputs = [nbformat.from_dict(o) for o in outputs]
            cell.execution_count = 1
        self.converted[md_path] = nb
        out = self.tmpdir / f"{md_path.stem}.ipynb"
        nbformat.write(nb, out)
        return out

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        result = yield
        if self.update and isinstance(item, IPyNbCell) and isinstance(item.parent, ChapterNotebook):
            if is_checked(item.cell):
                outputs = [dict(o) for o in getattr(item, "test_outputs", [])]
                self.captured.setdefault(item.parent.path, []).append(
                    (item.cell_num, item.cell.source, outputs)
                )
        return result

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.update:
            return
        REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
        for md_path, nb in self.converted.items():
            captured = {num: (src, outs) for num, src, outs in self.captured.get(md_path, [])}
            old = load_references(md_path)
            used = [False] * len(old)
            cells = []
            code_cells = [c for c in nb.cells if c.cell_type == "code"]
            for num, cell in enumerate(code_cells):
                if not is_checked(cell):
                    continue
                if num in captured:
                    cells.append({"source": cell.source, "outputs": captured[num][1]})
                    continue
                # Not run this time (deselected or failed): keep a matching old reference.
                for i, ref in enumerate(old):
                    if not used[i] and ref.get("source") == cell.source:
                        used[i] = True
                        cells.append(ref)
                        break
            path = reference_path(md_path)
            if not cells:
                if path.exists():
                    path.unlink()
                continue
            data = {
                "format": REFERENCE_FORMAT,
                "chapter": md_path.relative_to(ROOT).as_posix(),
                "note": "Written by `make update-references`; expected outputs of the "
                "chapter's NBVAL_CHECK_OUTPUT cells, matched by cell source.",
                "cells": cells,
            }
            path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
            print(f"\nwrote {path.relative_to(ROOT)} ({len(cells)} checked cells)")


class ChapterNotebook(IPyNbFile):
    """nbval's notebook collector, reading the converted notebook of a chapter ``.md``.

    ``path`` (test ids, reports) is the ``.md``; ``fspath``, which nbval reads the notebook
    from, is the converted copy in the temporary folder.
    """

    notebook_path: Path
    plugin: ChapterPlugin

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compare_outputs = False  # lax mode: only marked cells are compared

    @property
    def fspath(self):
        return legacy_path(self.notebook_path)

    def setup(self) -> None:
        # The kernel of the environment running pytest, started in chapters/ (as myst-nb).
        self.kernel = RunningKernel(
            CURRENT_ENV_KERNEL_NAME,
            cwd=str(self.path.parent),
            startup_timeout=self.config.option.nbval_kernel_startup_timeout,
        )
        self.setup_sanitize_files()


# --- the built book, shared by the book, launch-button and browser tests -------------------

PROBLEM = re.compile(r"(^|: )(WARNING|ERROR|CRITICAL|SEVERE):|^Traceback|Exception occurred")
"""Sphinx/docutils messages ("path:line: WARNING: ..."), not a kernel's log lines."""


@dataclass
class BookBuild:
    """One fresh build of the whole book: exit code, Sphinx problems, and the HTML folder."""

    returncode: int
    problems: list[str]
    log: str
    html: Path


@pytest.fixture(scope="session")
def book_build(tmp_path_factory: pytest.TempPathFactory) -> BookBuild:
    """Build the book once per test session, from scratch, into a temporary folder.

    ``$VAE_BOOK_HTML`` names an already built ``html`` folder to use instead (to rerun the
    browser tests quickly); otherwise the build has its own empty jupyter-cache, so every
    chapter executes against the current ``vae`` package, and ``_build/`` is left alone.
    """
    if os.environ.get("VAE_BOOK_HTML"):
        return BookBuild(0, [], "", Path(os.environ["VAE_BOOK_HTML"]))
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ)
    bindir = Path(sys.executable).parent
    if (bindir / "jupyter-book").exists():
        env["JUPYTER_BOOK"] = str(bindir / "jupyter-book")
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
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
    return BookBuild(proc.returncode, problems, log, out / "_build" / "html")


@pytest.fixture(scope="session")
def book_html(book_build: BookBuild) -> Path:
    """The built HTML folder; skips dependants if the build itself failed (its test reports)."""
    if book_build.returncode != 0 or not (book_build.html / "intro.html").is_file():
        pytest.skip("the book did not build: see test_book_builds_without_warnings")
    return book_build.html
