"""The instructors' builds: the whole book as one PDF (`make pdf`), and the book without
solutions (`make book SOLUTIONS=0`).

The PDF is the single-page HTML build of the session's book (same execution cache: nothing
runs again) printed by Debian's chromium (tools/print_pdf.py); pypdf reads it back. The
solutions switch is checked on a two-page Sphinx project with the same extensions, so that it
costs seconds, not a second build of the book.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")


def _chapter_titles() -> list[str]:
    """The first heading of every chapter in _toc.yml's order."""
    titles = []
    for line in (ROOT / "_toc.yml").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*- file: (chapters/\S+)", line)
        if m:
            text = (ROOT / f"{m.group(1)}.md").read_text(encoding="utf-8")
            title = re.search(r"^# (.+)$", text, re.M).group(1)
            titles.append(re.sub(r"[`*]", "", title).strip())
    return titles


@pytest.fixture(scope="session")
def book_pdf(book_build) -> Path:
    """`make pdf` for the session's build: singlehtml into the same output folder, printed."""
    if book_build.returncode != 0:
        pytest.skip("the book did not build: see test_book_builds_without_warnings")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run tools/install_browser.sh")
    pytest.importorskip("playwright.sync_api")
    out = book_build.html.parent.parent  # the --path-output of the HTML build
    bindir = Path(sys.executable).parent
    jb = bindir / "jupyter-book"
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    build = subprocess.run(
        [str(jb), "build", str(ROOT), "--builder", "singlehtml", "-W", "-n", "--keep-going"]
        + ([] if out.resolve() == ROOT else ["--path-output", str(out)]),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    index = out / "_build" / "singlehtml" / "intro.html"  # the root page (index.html redirects)
    pdf = out / "_build" / "pdf" / "book.pdf"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "print_pdf.py"), str(index), str(pdf)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return pdf


@pytest.mark.book
@pytest.mark.browser
def test_pdf_holds_the_whole_book(book_pdf: Path) -> None:
    """One PDF with a table of contents (a page of it and the PDF's outline), every chapter
    title, numbered equations and figures with their numbered references, the explorers as
    they open, and page numbers."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(book_pdf)
    pages = [p.extract_text() or "" for p in reader.pages]
    text = "\n".join(pages)
    flat = re.sub(r"\s+", " ", text)
    print(f"\n{book_pdf}: {len(pages)} pages, {book_pdf.stat().st_size / 1e6:.1f} MB")
    assert len(pages) >= 60, f"only {len(pages)} pages"
    titles = _chapter_titles()
    assert len(titles) >= 8
    missing = [t for t in titles if re.sub(r"\s+", " ", t) not in flat]
    assert not missing, f"chapter titles not in the PDF: {missing}"
    contents = next(i for i, p in enumerate(pages) if "Contents" in p)
    assert contents < 5, "no table of contents at the front"
    assert sum(t in pages[contents] + pages[contents + 1] for t in titles) >= 4

    def titles_of(items) -> list[str]:
        return [t for o in items for t in (titles_of(o) if isinstance(o, list) else [o.title])]

    outline = titles_of(reader.outline)
    assert sum(any(t in o for o in outline) for t in titles) >= len(titles) - 1, outline
    # numbered equations and figures, and references to them (Sphinx numbers per chapter)
    assert re.search(r"\(3\.\d+\)", text), "no equation number (3.x)"
    assert re.search(r"Fig\. ?8\.1", flat), "no reference to Fig. 8.1"
    # a sample equation's text: the KL of chapter 8's rate (MathJax's glyphs are text)
    assert "KL" in flat
    # the explorers, rendered in the state they open on (not a note in their place)
    assert "An interactive explorer" not in flat
    assert "held-out ELBO" in flat  # chapter 5's explorer's numbers
    # page numbers in the footers: "n / N"
    assert f"/ {len(pages)}" in pages[-1]


SOLUTIONS_PROJECT = {
    "conf.py": ("extensions = ['sphinx_exercise', 'book.solutions']\n"),
    "index.rst": (
        "Exercises\n=========\n\n"
        ".. exercise::\n   :label: ex-one\n\n   Show that KL is non-negative.\n\n"
        ".. solution:: ex-one\n\n   Jensen's inequality, on the log.\n"
    ),
}


@pytest.mark.parametrize("solutions", ["1", "0"])
def test_solutions_switch(tmp_path: Path, solutions: str) -> None:
    """VAE_SOLUTIONS=0 (what `make book SOLUTIONS=0` sets) drops every solution and keeps the
    exercises; unset or 1, the solutions are there."""
    pytest.importorskip("sphinx_exercise")
    src = tmp_path / "src"
    src.mkdir()
    for name, text in SOLUTIONS_PROJECT.items():
        (src / name).write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(tmp_path / "out")],
        env=dict(os.environ, VAE_SOLUTIONS=solutions),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Show that KL is non-negative" in html
    assert ("Jensen" in html) == (solutions == "1")
