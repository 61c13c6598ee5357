"""Build the whole book from scratch and fail on any Sphinx warning or cell error.

Slow (every chapter executes): marked ``book``; deselect with ``pytest -m "not book"``.
The build goes to a temporary folder with its own, empty jupyter-cache, so it executes
every chapter against the current ``vae`` package (no stale cached outputs) and leaves
``_build/`` alone. It uses the same script as ``make book`` (``tools/build_book.sh``:
``jupyter-book build --all -W -n --keep-going``, execution errors raise).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Sphinx/docutils messages ("path:line: WARNING: ...", "ERROR: ..."), not e.g. a kernel's
# "[IPKernelApp] WARNING | ..." log line.
PROBLEM = re.compile(r"(^|: )(WARNING|ERROR|CRITICAL|SEVERE):|^Traceback|Exception occurred")


@pytest.mark.book
def test_book_builds_without_warnings(tmp_path: Path) -> None:
    env = dict(os.environ)
    jb = Path(sys.executable).parent / "jupyter-book"
    if jb.exists():
        env["JUPYTER_BOOK"] = str(jb)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", str(ROOT / "tools" / "build_book.sh"), "--output", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    log = proc.stdout + proc.stderr
    # Sphinx colours its messages; strip ANSI codes before matching.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log)
    problems = [line for line in plain.splitlines() if PROBLEM.search(line)]
    assert proc.returncode == 0, "book build failed:\n" + "\n".join(problems or [log[-6000:]])
    assert not problems, "book build reported problems:\n" + "\n".join(problems)
    assert (tmp_path / "_build" / "html" / "intro.html").is_file()
