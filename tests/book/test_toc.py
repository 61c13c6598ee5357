"""book.toc: the chapters come from _toc.yml, in the book's order, only those that execute."""

from __future__ import annotations

from pathlib import Path

import pytest

from book.toc import chapters, find_root, pages

ROOT = Path(__file__).resolve().parents[2]


def test_the_chapters_are_the_notebooks_of_the_toc_in_its_order():
    found = [p.relative_to(ROOT).as_posix() for p in chapters(ROOT)]
    assert found == sorted(found) and found[0] == "chapters/01-latent-variable-models.md"
    assert "chapters/api.md" not in found  # a page, not a notebook
    assert {p.name for p in pages(ROOT)} >= {"intro.md", "api.md", *(Path(f).name for f in found)}


def test_the_root_is_found_from_any_folder_below_it():
    assert find_root(ROOT / "chapters") == ROOT
    assert find_root(Path("/")) is None


def test_a_toc_entry_without_a_source_is_an_error(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: gone\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    with pytest.raises(FileNotFoundError, match="gone"):
        pages(tmp_path)
