"""The book's chapters, read from ``_toc.yml``: the one list that the build and the tests use.

``python -m book.toc [ROOT]`` prints the chapter sources, one per line, in the book's order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working folder) that holds
    ``_toc.yml``, or None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def _files(entries: list[dict]) -> list[str]:
    out = []
    for entry in entries:
        if "file" in entry:
            out.append(entry["file"])
        for key in ("chapters", "sections"):
            out.extend(_files(entry.get(key, [])))
    return out


def pages(root: Path) -> list[Path]:
    """Every page of the table of contents (the root page first), as paths of their sources
    (``.md`` or ``.ipynb``) under ``root``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        names.extend(_files(part.get("chapters", [])))
    out = []
    for name in names:
        matches = [
            root / f"{name}{ext}" for ext in (".md", ".ipynb") if (root / f"{name}{ext}").is_file()
        ]
        if not matches:
            raise FileNotFoundError(f"_toc.yml names {name}, which has no .md or .ipynb source")
        out.append(matches[0])
    return out


def chapters(root: Path) -> list[Path]:
    """The pages that execute: those whose source is a notebook (a MyST ``.md`` with a
    ``jupytext`` header, or an ``.ipynb``), in the book's order."""
    return [page for page in pages(root) if is_notebook(page)]


def is_notebook(path: Path) -> bool:
    """Whether ``path`` is an ``.ipynb`` or a MyST notebook (front matter with ``jupytext:``)."""
    if path.suffix == ".ipynb":
        return True
    text = path.read_text(encoding="utf-8")
    end = text.find("\n---", 3)
    return text.startswith("---") and end != -1 and "jupytext:" in text[:end]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else find_root()
    if root is None:
        sys.exit("no _toc.yml here or above")
    for chapter in chapters(root):
        print(chapter.relative_to(root).as_posix())
