"""Write the notebooks Colab and Binder open: ``python -m book.notebooks [OUT] [options]``.

From the chapter sources and a built book (``make book``; ``make notebooks`` runs both), into
``OUT`` (default ``_build/notebooks``), which is published as the notebooks branch:

* ``chapters/<chapter>.ipynb``: each MyST chapter of ``_toc.yml`` (:mod:`book.notebook`);
* ``figures/``: the static figures the chapters show;
* ``binder/``: the Binder environment of that branch: ``binder/requirements.txt`` and
  ``runtime.txt`` of the source branch, plus ``vae`` from the repository at the commit the
  notebooks were made from (``--ref``, default ``$GITHUB_SHA``, else the source branch), and
  ``binder/notebooks-branch/postBuild``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import nbformat

from book import toc
from book.built import BuiltBook
from book.notebook import ROOT, chapter_notebook
from book.repository import Repository


def chapters(root: Path = ROOT) -> list[Path]:
    """The MyST notebook chapters, in the order of ``_toc.yml`` (:func:`book.toc.chapters`)."""
    return [path for path in toc.chapters(root) if path.suffix == ".md"]


def binder_requirements(repo: Repository, ref: str, root: Path = ROOT) -> str:
    """The source branch's Binder requirements, plus ``vae`` at ``ref`` (Binder's pip has
    the network; the notebooks branch has no package source of its own)."""
    text = (root / "binder" / "requirements.txt").read_text(encoding="utf-8")
    return (
        "# Written by `make notebooks` (python -m book.notebooks) from the source branch's\n"
        f"# binder/requirements.txt, plus the package the notebooks were made with.\n{text}"
        f"vae @ {repo.package_source(ref)}\n"
        f"vae-book @ {repo.package_source(ref)}#subdirectory=book\n"
    )


def write(
    out: Path,
    build: Path = ROOT / "_build",
    repo: Repository | None = None,
    ref: str | None = None,
    sources: dict[str, str] | None = None,
) -> list[Path]:
    """Write the notebooks branch into ``out``; returns the notebooks' paths.

    ``sources`` is where the notebooks' install cell installs the packages from (default: the
    repository's branch; :func:`book.notebook.install_cell`); ``ref`` the commit Binder
    installs (default: the branch).
    """
    book = BuiltBook.read(build)
    repo = repo or Repository.from_config()
    written = []
    for chapter in chapters():
        target = out / chapter.relative_to(ROOT).with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(chapter_notebook(chapter, book, repo, sources), target)
        written.append(target)
    shutil.copytree(
        ROOT / "figures",
        out / "figures",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("*.py", "__pycache__"),
    )
    (out / "binder").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "binder" / "runtime.txt", out / "binder" / "runtime.txt")
    shutil.copy(ROOT / "binder" / "notebooks-branch" / "postBuild", out / "binder" / "postBuild")
    (out / "binder" / "requirements.txt").write_text(binder_requirements(repo, ref or repo.branch))
    return written


def main(argv: list[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "_build" / "notebooks")
    parser.add_argument("--build", type=Path, default=ROOT / "_build", help="the built book")
    parser.add_argument("--repository", help="OWNER/REPO (default: $GITHUB_REPOSITORY, config)")
    parser.add_argument("--ref", default=os.environ.get("GITHUB_SHA"), help="commit for Binder")
    parser.add_argument(
        "--print-branch", action="store_true", help="print the branch to publish OUT on, and stop"
    )
    args = parser.parse_args(argv)
    repo = Repository.from_config(org_repo=args.repository)
    if args.print_branch:
        print(repo.notebooks_branch)
        return
    for path in write(args.out, args.build, repo, args.ref):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
