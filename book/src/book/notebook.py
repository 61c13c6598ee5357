"""A chapter (MyST Markdown notebook) as the plain notebook that Colab and Binder open.

Neither client runs myst-nb, Sphinx or sphinxcontrib-bibtex, and each notebook renders alone,
so what the HTML gets from the whole book is written into the notebook from a built book
(:class:`book.built.BuiltBook`):

* a first cell installs the ``vae`` and ``book`` packages where they are missing, leaving every
  installed package as it is (:data:`INSTALL_CELL`);
* the MyST of the Markdown cells becomes plain Markdown (CommonMark, ``$`` math): ``{glue:text}``
  roles become the book's numbers; ``{math}`` and ``$$`` blocks ``equation*`` environments, tagged
  with the HTML's equation numbers (:func:`display_math`); ``{eq}``/``{numref}`` the HTML's
  ``(3.4)``, ``Fig. 3.2``, ``Exercise 2.1``; ``{ref}``, ``{doc}`` and ``{cite}`` links into the
  published HTML book, citations with its labels (``[KW13]``); exercises, solutions and
  admonitions block quotes; API roles code;
* after each cell whose output is a numbered figure (``mystnb.figure`` metadata), a Markdown cell
  with its number and caption; the figure itself is stored as the cell's output (from the book's
  execution), so the notebook shows it before it runs;
* the cells the book hides (``remove-cell``) stay (they set up and check) but are folded: Colab's
  form view (``cellView``, ``#@title``) and Jupyter's ``source_hidden``/``outputs_hidden``.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext  # type: ignore[import-untyped]
import nbformat
import yaml

from book.built import BuiltBook
from book.repository import Repository

ROOT = Path(__file__).resolve().parents[3]
HIDDEN_TITLE = "Hidden in the book: set-up, checks, or the numbers the text quotes"
INSTALL_TITLE = "Install the book's packages vae and book (Colab); elsewhere they are already there"
INSTALL_CELL = Path(__file__).with_name("install_cell.py")
"""The notebooks' first cell, with its ``REPOSITORY`` and ``PACKAGES`` lines written per book."""

OPENING = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<content>[^`]+)`")
TARGET = re.compile(r"^\([\w:-]+\)=[ \t]*\n?", re.M)
ADMONITIONS = {"note", "tip", "important", "warning", "caution", "attention", "hint", "seealso"}
API_ROLES = {"class", "func", "meth", "mod", "attr", "data", "obj", "exc"}


class ConversionError(ValueError):
    """A chapter uses MyST that has no plain-Markdown form here, or a target the book lacks."""


@dataclass
class Context:
    """One chapter being converted: its Sphinx docname, the built book and the repository."""

    docname: str  # "chapters/03-elbo"
    book: BuiltBook
    repo: Repository

    def fail(self, message: str) -> ConversionError:
        return ConversionError(f"{self.docname}: {message}")

    def link(self, label: str) -> str:
        """The published HTML address of a label."""
        if label not in self.book.targets:
            raise self.fail(f"{label!r} is not a label of the built book")
        doc, anchor = self.book.targets[label]
        return self.repo.page_url(doc, anchor)

    def number(self, label: str) -> str:
        if label not in self.book.numbers:
            raise self.fail(f"{label!r} has no number in the built book")
        return self.book.numbers[label]

    def doc(self, target: str) -> str:
        """A ``{doc}`` target (relative to this chapter, or absolute from the root) as a docname."""
        target = target.removesuffix(".md").removesuffix(".ipynb")
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), target))


def split_options(body: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A directive's options (``:key: value`` lines or a ``---`` YAML block) and content."""
    if body and body[0].strip() == "---":
        end = body.index("---", 1)
        return yaml.safe_load("\n".join(body[1:end])) or {}, body[end + 1 :]
    options = {}
    i = 0
    while i < len(body) and (m := re.match(r"^:([\w-]+):\s*(.*)$", body[i])):
        options[m.group(1)] = m.group(2)
        i += 1
    return options, body[i:]


def display_math(tex: str, tag: str | None = None) -> list[str]:
    """A display equation, numbered as in the HTML (``tag``) or not at all.

    An ``equation*`` environment rather than ``$$``: Colab's and JupyterLab's Markdown render
    both, but jupyterlab-myst numbers every ``$$`` block per notebook, (1), (2), beside the
    book's own numbers; it leaves ``equation*`` unnumbered (mystmd's math transform)."""
    tex = tex.strip("\n") + (f" \\tag{{{tag}}}" if tag else "")
    return ["\\begin{equation*}", tex, "\\end{equation*}"]


def _dollar_blocks(text: str) -> str:
    """``$$`` display blocks (MyST's dollarmath; unnumbered in the HTML) as :func:`display_math`."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if lines[i].strip() == "$$" and "$$" in (line.strip() for line in lines[i + 1 :]):
            j = next(k for k in range(i + 1, len(lines)) if lines[k].strip() == "$$")
            out.extend(display_math("\n".join(lines[i + 1 : j])))
            i = j + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def myst_to_markdown(text: str, ctx: Context) -> str:
    """MyST Markdown of one cell to plain Markdown (CommonMark, ``$`` math, ``equation*``)."""
    text = _dollar_blocks(TARGET.sub("", text))
    text = "\n".join(line for line in text.split("\n") if not line.startswith("% "))
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = OPENING.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence, depth, j = m.group("fence"), 0, i + 1
        while j < len(lines):
            line = lines[j].rstrip()
            if line == fence:
                if depth == 0:
                    break
                depth -= 1
            elif line.startswith(fence) and not line.startswith(fence + fence[0]):
                depth += 1
            j += 1
        options, body = split_options(lines[i + 1 : j])
        out.extend(directive(m.group("name"), m.group("arg").strip(), options, body, ctx))
        i = j + 1
    return ROLE.sub(lambda r: role(r.group("role"), r.group("content"), ctx), "\n".join(out))


def quote(title: str, body: str) -> list[str]:
    lines = [f"> **{title}**", ">"]
    lines += [f"> {line}".rstrip() for line in body.strip("\n").split("\n")]
    return lines + [""]


def directive(name: str, arg: str, options: dict, body: list[str], ctx: Context) -> list[str]:
    content = myst_to_markdown("\n".join(body), ctx).strip("\n")
    if name == "math":
        label = options.get("label")
        return display_math(content, ctx.number(label).strip("()") if label else None)
    if name == "exercise":
        number = ctx.number(options["label"]) if "label" in options else "Exercise"
        return quote(number + (f" ({arg})" if arg else ""), content)
    if name == "solution":
        return quote(f"Solution to {ctx.number(arg)}", content)
    if name == "admonition":
        return quote(arg, content)
    if name in ADMONITIONS:
        return quote(name.capitalize(), content)
    if name == "figure":
        path = posixpath.normpath(posixpath.join(posixpath.dirname(ctx.docname), arg))
        alt = options.get("alt", "").replace("]", ")").replace("[", "(")
        number = ctx.number(options["name"]) if "name" in options else "Figure"
        return [f"![{alt}]({ctx.repo.raw_url(path)})", "", f"*{number}.* {content}", ""]
    if name == "literalinclude":
        return ["```" + options.get("language", ""), literal_include(arg, options, ctx), "```"]
    raise ctx.fail(f"no plain-Markdown form for the {{{name}}} directive")


def literal_include(arg: str, options: dict, ctx: Context) -> str:
    """The text a ``{literalinclude}`` shows (whole file, or ``:pyobject:``), as of this build."""
    unknown = set(options) - {"language", "pyobject", "caption", "name"}
    if unknown:
        raise ctx.fail(f"{{literalinclude}} options {sorted(unknown)} unsupported")
    text = (ROOT / posixpath.dirname(ctx.docname) / arg).read_text(encoding="utf-8")
    if "pyobject" not in options:
        return text.rstrip("\n")
    for node in ast.walk(ast.parse(text)):
        defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        if isinstance(node, defs) and node.name == options["pyobject"]:
            return "\n".join(text.splitlines()[node.lineno - 1 : node.end_lineno])
    raise ctx.fail(f"no {options['pyobject']!r} in {arg}")


def role(name: str, content: str, ctx: Context) -> str:
    content = " ".join(content.split())
    explicit = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", content)
    text, target = (explicit["text"], explicit["target"]) if explicit else ("", content)
    if name in ("glue:text", "glue"):
        value = ctx.book.glued.get(ctx.docname, {}).get(target)
        if value is None:
            raise ctx.fail(f"no glued value {target!r} in the built book")
        return value
    if name == "eq":
        return ctx.number(target)
    if name == "numref":
        number = ctx.number(target)
        return text.replace("%s", number.split(" ")[-1]) if text else number
    if name == "ref":
        label = text or ctx.book.numbers.get(target) or ctx.book.names.get(target) or target
        return f"[{label}]({ctx.link(target)})"
    if name == "doc":
        doc = ctx.doc(target)
        if doc not in ctx.book.titles:
            raise ctx.fail(f"{{doc}} target {target!r} is not a page of the built book")
        return f"[{text or ctx.book.titles[doc]}]({ctx.repo.page_url(doc)})"
    if name in ("cite", "cite:p", "cite:t"):
        cites = []
        for key in (k.strip() for k in target.split(",")):
            if key not in ctx.book.citations:
                raise ctx.fail(f"{{cite}} key {key!r} is not in the book's bibliography")
            label, doc, anchor = ctx.book.citations[key]
            cites.append(f"[{label}]({ctx.repo.page_url(doc, anchor)})")
        return "\\[" + ", ".join(cites) + "\\]"
    if name in API_ROLES:
        shown = target.lstrip("~").split(".")[-1] if target.startswith("~") else target
        return f"`{text or shown}`"
    if name == "math":
        return f"${content}$"
    raise ctx.fail(f"no plain-Markdown form for the {{{name}}} role")


def install_cell(repo: Repository, sources: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The first cell (:data:`INSTALL_CELL`): installs ``vae`` and ``book`` (distribution
    ``vae-book``, in ``book/``) from the repository's branch, or from ``sources`` (import name
    -> a pip requirement's URL, e.g. wheels for a test)."""
    packages = {
        "vae": f"vae @ {repo.package_source()}",
        "book": f"vae-book @ {repo.package_source()}#subdirectory=book",
    }
    for name, url in (sources or {}).items():
        packages[name] = packages[name].split(" @ ")[0] + f" @ {url}"
    code = INSTALL_CELL.read_text(encoding="utf-8")
    lines = code.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("REPOSITORY = "):
            lines[i] = f"REPOSITORY = {json.dumps(repo.url + ', branch ' + repo.branch)}"
        elif line.startswith("PACKAGES: "):
            pairs = "".join(f"\n    {json.dumps(k)}: {json.dumps(v)}," for k, v in packages.items())
            lines[i] = f"PACKAGES = {{{pairs}\n}}"
    cell = nbformat.v4.new_code_cell("\n".join([f"#@title {INSTALL_TITLE}", *lines]))
    cell.metadata.update({"cellView": "form", "jupyter": {"source_hidden": True}})
    return cell


def _figure_outputs(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The image outputs of an executed cell, as display data."""
    return [
        nbformat.v4.new_output(
            "display_data", data={k: v for k, v in out["data"].items() if k.startswith("image/")}
        )
        for out in cell.get("outputs", [])
        if any(k.startswith("image/") for k in out.get("data", {}))
    ]


def chapter_notebook(
    chapter: Path,
    book: BuiltBook,
    repo: Repository,
    sources: dict[str, str] | None = None,
) -> nbformat.NotebookNode:
    """The chapter as a notebook for Colab and Binder (see the module docstring).

    ``sources``: where the install cell installs the packages from (:func:`install_cell`).
    """
    docname = chapter.resolve().relative_to(ROOT).with_suffix("").as_posix()
    ctx = Context(docname, book, repo)
    nb = jupytext.read(chapter)
    try:
        executed = [c for c in book.executed(nb).cells if c.cell_type == "code"]
    except LookupError as err:
        raise ctx.fail(str(err)) from None
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = {id(c): _figure_outputs(e) for c, e in zip(code, executed, strict=True)}
    cells = [install_cell(repo, sources)]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = myst_to_markdown(cell.source, ctx).strip("\n")
            cells.append(cell)
            continue
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags:
            cell.source = f"#@title {HIDDEN_TITLE}\n{cell.source}"
            cell.metadata["cellView"] = "form"
            cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
            cell.metadata["collapsed"] = True  # outputs_hidden as nbformat < 4.5 says it
        figure = cell.metadata.get("mystnb", {}).get("figure")
        if cell.cell_type == "code" and figure:
            cell.outputs = outputs[id(cell)]
        cells.append(cell)
        if figure:
            caption = myst_to_markdown(str(figure.get("caption", "")), ctx).strip()
            cells.append(
                nbformat.v4.new_markdown_cell(f"*{ctx.number(figure['name'])}.* {caption}")
            )
    nb.cells = cells
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    # As ipykernel's kernelspec names itself (JupyterLab rewrites any other display name on
    # open); binder/notebooks-branch/postBuild adds the kernel's language_info likewise.
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nbformat.validate(nb)
    return nb
