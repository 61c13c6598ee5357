"""Section 4: cold and warm build time of the whole book, and each chapter's execution time.

The book is built from a snapshot copy of the repository in a temporary folder (the files git
tracks or would track -- ``git ls-files --cached --others --exclude-standard`` -- plus the
vendored JavaScript in ``_static/vendor``), so the benchmark neither disturbs nor is disturbed
by work going on in the checkout. The build is the project's own ``tools/build_book.sh`` (the
``make book`` command: ``jupyter-book build --all -W -n --keep-going``, execution cache on):

* cold: no ``_build`` at all, every chapter executes;
* warm: the same command again with nothing changed: every chapter is a cache hit (Sphinx still
  re-reads every page because of ``--all``);
* with ``one_thread`` (``--book-one-thread``), cold again with ``OMP_NUM_THREADS=1`` in the
  environment (so every kernel's PyTorch uses one
  thread), to measure what thread oversubscription costs the book on a small machine.

Per-chapter execution times are read from the jupyter-cache that ``tools/build_book.sh``
fills (two chapters at a time, each in a fresh kernel) before Sphinx reads the pages
(``_build/.jupyter_cache``, field ``execution_seconds`` of each cache record). The goal of 20 s
per chapter is checked on a second measurement, :func:`chapter_alone_times`: each chapter
alone in a fresh kernel, training every model itself, as a reader running it live does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXTRA = ("_static/vendor",)


def snapshot(dest: Path) -> int:
    """Copy the repository's files into ``dest``; return the number of files copied."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    files = [f for f in out.decode().split("\0") if f]
    n = 0
    for rel in files:
        src = ROOT / rel
        if not src.is_file():  # deleted in the working tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        n += 1
    for rel in EXTRA:
        if (ROOT / rel).is_dir():
            shutil.copytree(ROOT / rel, dest / rel, dirs_exist_ok=True)
    return n


def _own_package(book: Path) -> dict[str, str]:
    """``PYTHONPATH`` that makes the kernels import the snapshot's ``vae`` and ``book``
    (``<snapshot>/src``, ``<snapshot>/book/src``), not those the venv has installed in editable
    mode from the checkout."""
    own = [str(book / "src"), str(book / "book" / "src")]
    return {"PYTHONPATH": os.pathsep.join(filter(None, [*own, os.environ.get("PYTHONPATH")]))}


def _build(book: Path, jb: str, extra_env: dict[str, str] | None = None) -> tuple[float, int, str]:
    env = {**os.environ, "JUPYTER_BOOK": jb, **_own_package(book), **(extra_env or {})}
    start = time.perf_counter()
    proc = subprocess.run(
        ["bash", str(book / "tools" / "build_book.sh")],
        cwd=book,
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - start, proc.returncode, (proc.stdout + proc.stderr)[-3000:]


def chapter_times(book: Path) -> dict[str, float | None]:
    """Execution seconds of each cached notebook, keyed by its path relative to the book."""
    from jupyter_cache import get_cache

    cache = get_cache(book / "_build" / ".jupyter_cache")
    out = {}
    for rec in cache.list_cache_records():
        try:
            uri = str(Path(rec.uri).resolve().relative_to(book.resolve()))
        except ValueError:
            uri = rec.uri
        out[uri] = rec.data.get("execution_seconds")
    return dict(sorted(out.items()))


def chapter_alone_times(book: Path) -> dict[str, float]:
    """Seconds to run each chapter top to bottom in a fresh kernel, one at a time and with no
    stored models to load (``book.trained`` pointed at an empty folder): what a reader who runs
    it live waits."""
    import jupytext
    from nbclient import NotebookClient

    saved = {k: os.environ.get(k) for k in ("BOOK_TRAINED_DIR", "PYTHONPATH")}
    os.environ.update(_own_package(book))
    out = {}
    try:
        for path in sorted((book / "chapters").glob("0*.md")):
            os.environ["BOOK_TRAINED_DIR"] = tempfile.mkdtemp(prefix="vae-bench-trained-")
            nb = jupytext.read(path)
            client = NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            )
            start = time.perf_counter()
            client.execute()
            out[str(path.relative_to(book))] = time.perf_counter() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out


def run(one_thread: bool = False, log=print) -> dict[str, Any]:
    jb = str(ROOT / ".venv" / "bin" / "jupyter-book")
    if not Path(jb).exists():
        jb = shutil.which("jupyter-book") or "jupyter-book"
    if not (ROOT / "tools" / "build_book.sh").exists():
        return {"available": False, "reason": "tools/build_book.sh not found"}
    with tempfile.TemporaryDirectory(prefix="vae-bench-book-") as tmp:
        book = Path(tmp) / "book"
        n_files = snapshot(book)
        cold, rc_cold, tail_cold = _build(book, jb)
        log(f"  book cold build: {cold:.1f} s (exit {rc_cold})")
        chapters = chapter_times(book) if rc_cold == 0 or (book / "_build").exists() else {}
        warm, rc_warm, tail_warm = _build(book, jb)
        log(f"  book warm build: {warm:.1f} s (exit {rc_warm})")
        alone = chapter_alone_times(book)
        log("  each chapter alone, fresh kernel: " + ", ".join(f"{v:.1f}" for v in alone.values()))
        one = None
        if one_thread:
            # The same cold build with every kernel limited to one OpenMP/torch thread.
            shutil.rmtree(book / "_build")
            one, rc_one, _ = _build(book, jb, {"OMP_NUM_THREADS": "1"})
            one_chapters = chapter_times(book) if (book / "_build").exists() else {}
            log(f"  book cold build, OMP_NUM_THREADS=1: {one:.1f} s (exit {rc_one})")
    extra = {}
    if one is not None:
        extra = {
            "cold_one_thread_seconds": one,
            "cold_one_thread_exit_code": rc_one,
            "chapter_execution_seconds_one_thread": one_chapters,
        }
    return {
        **extra,
        "available": True,
        "files_copied": n_files,
        "cold_seconds": cold,
        "warm_seconds": warm,
        "cold_exit_code": rc_cold,
        "warm_exit_code": rc_warm,
        "chapter_execution_seconds": chapters,
        "chapter_alone_seconds": alone,
        "goal": {"cold_seconds": 45, "warm_seconds": 10, "chapter_seconds": 20},
        "log_tail": tail_cold if rc_cold else (tail_warm if rc_warm else ""),
    }
