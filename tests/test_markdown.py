"""The book's Markdown: hazards that a build does not report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "intro.md", *sorted((ROOT / "chapters").glob("*.md"))]

# A line that Markdown reads as the start of a list item, a heading, a quote or a setext
# underline, even in the middle of a paragraph.
BLOCK_START = re.compile(r"^\s*([-+*>]\s|1[.)]\s|#{1,6}\s|=+\s*$)")
DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)")  # a single, unescaped $


def lines_opening_a_block_inside_inline_math(text: str) -> list[tuple[int, str]]:
    """Lines that begin with a block marker while an inline ``$...$`` of the paragraph is open.

    Such a line splits the formula: ``$f(z)`` / ``- b$`` renders as text plus a bullet.
    """
    hits, math_open, display = [], False, False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped == "$$":
            display = not display
            continue
        if display:
            continue
        if not stripped or stripped.startswith(("```", "~~~")):
            math_open = False
            continue
        if math_open and BLOCK_START.match(line):
            hits.append((number, line))
        if len(DOLLAR.findall(line)) % 2:
            math_open = not math_open
    return hits


def test_the_hazard_detector_finds_a_formula_split_before_a_minus():
    text = "replaced by $f(z)\n- b$ for any constant\n\nand $a\n+ b$ too\n"
    assert [n for n, _ in lines_opening_a_block_inside_inline_math(text)] == [2, 5]
    assert lines_opening_a_block_inside_inline_math("by\n$f(z) - b$ for\n- a real bullet\n") == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_line_inside_inline_math_starts_a_markdown_block(page):
    hits = lines_opening_a_block_inside_inline_math(page.read_text())
    assert not hits, "\n".join(f"{page.name}:{n}: {line}" for n, line in hits)
