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


GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`[^`]+`")
MAX_GLUED_PER_PARAGRAPH = 3
"""Numbers that serve the sentence: at most this many glued values in a paragraph of running
prose (tables, which hold numbers for comparison, are not paragraphs)."""


def paragraphs(text: str) -> list[tuple[int, str]]:
    """The prose paragraphs of a MyST page, with their first line: code cells, math and
    directive fences and tables left out."""
    out, start, lines, fence = [], 0, [], None
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        stripped = line.strip()
        if fence is not None:  # inside a code cell or math block: skip to its closing fence
            if stripped == fence:
                fence = None
            continue
        opener = re.match(r"^(`{3,}|~{3,})\{(code-cell|math)\}", stripped)
        if opener or stripped == "$$":
            fence = opener.group(1) if opener else "$$"
        if stripped and not opener and stripped != "$$" and not stripped.startswith("|"):
            if not lines:
                start = number
            lines.append(line)
            continue
        if lines:
            out.append((start, "\n".join(lines)))
            lines = []
    return out


def test_the_paragraph_splitter_leaves_out_code_math_and_tables():
    cell = "```{code-cell} ipython3\nglue\n\nmore\n```"
    text = f"a {{glue:text}}`x`\nb\n\n{cell}\n| {{glue:text}}`t` |\n\nc"
    assert [p for _, p in paragraphs(text)] == ["a {glue:text}`x`\nb", "c"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_paragraph_holds_more_than_three_glued_numbers(page):
    crowded = [
        f"{page.name}:{n}: {len(GLUE_ROLE.findall(p))} glued numbers"
        for n, p in paragraphs(page.read_text())
        if len(GLUE_ROLE.findall(p)) > MAX_GLUED_PER_PARAGRAPH
    ]
    assert not crowded, "\n".join(crowded)
