"""Colab notebooks for the chapters, and the Colab launch button that points at them.

Colab opens only ``.ipynb`` files from GitHub, renders plain Markdown only, and starts from
an image without the book's build tools (no myst-nb). So:

* ``python tools/colab.py OUT [--build _build] [--repository OWNER/REPO]`` writes one
  notebook per chapter into ``OUT/chapters/`` (and the static figures into ``OUT/figures/``)
  from the chapter sources, for a plain Colab image:

  - a first cell installs the ``vae`` package from the repository when it is not
    importable (a no-op locally and on Binder, where the package is installed);
  - the MyST of the Markdown cells becomes plain Markdown: ``{math}`` blocks become
    ``$$`` blocks tagged with the HTML's equation numbers, exercises, solutions and
    admonitions become block quotes, cross-references become the text the HTML shows
    (``Fig. 1.2``, ``(3.4)``, ``Exercise 2.1``), ``{doc}``/``{ref}``/``{cite}`` links go to
    the published HTML book, API roles become code, ``{glue:text}`` roles become the
    number of the book's build; static figures become images from the published branch;
  - after each code cell whose output is a numbered figure (myst-nb ``mystnb.figure``
    metadata), a Markdown cell gives its number and caption;
  - code cells the book hides (``remove-cell``) are folded under a title (Colab's form
    view); their outputs, such as the printed glue numbers, stay visible.

  Numbers (figure, equation and exercise numbers, glued values) are read from a built book
  (``--build``, default ``_build``: ``html/`` and ``jupyter_execute/``), so run it after
  ``make book`` (``make notebooks`` does). Live, the chapters print every glued number
  (``vae.glue.glue``), so a Colab reader also sees the values of their own run.
  Publish ``OUT`` to the branch named by ``colab_branch`` (default ``notebooks``).
* As a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) it rewrites the
  theme's Colab button, which would point at the ``.md`` source, to that notebook.

The repository (``OWNER/REPO``) is ``$GITHUB_REPOSITORY`` when set (a GitHub Actions run, so a
fork publishes notebooks that install from the fork), else ``repository.url`` of
``_config.yml``; ``--repository`` overrides both.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
COLAB = "https://colab.research.google.com"
GLUE_PREFIX = "application/papermill.record/"

INSTALL_CELL = '''\
# Colab: install the book's companion package `vae` when it is missing, with the widgets'
# ipywidgets 8 (its `widgets` extra). A no-op locally and on Binder, where it is installed.
import importlib.util

if importlib.util.find_spec("vae") is None:
    %pip install --quiet "vae[widgets] @ git+{url}@{branch}"'''


HIDDEN_TITLE = "Hidden in the book: set-up, checks, or the numbers the text quotes"


def repository(org_repo: str | None = None) -> dict[str, str]:
    """The repository the book is published from: ``url``, ``branch``, ``org_repo``, ``pages``.

    ``org_repo`` (``OWNER/REPO``), else ``$GITHUB_REPOSITORY``, else ``repository.url`` of
    ``_config.yml``. ``pages`` is the GitHub Pages address of the HTML book.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config.get("repository", {})
    org_repo = org_repo or os.environ.get("GITHUB_REPOSITORY") or ""
    if not org_repo:
        org_repo = "/".join(repo["url"].rstrip("/").split("github.com/", 1)[-1].split("/")[:2])
    owner, name = org_repo.split("/")
    return {
        "url": f"https://github.com/{org_repo}",
        "branch": repo.get("branch", "main"),
        "org_repo": org_repo,
        "pages": f"https://{owner.lower()}.github.io/{name}",
    }


def colab_branch() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config.get("sphinx", {}).get("config", {}).get("colab_branch", "notebooks")


# --- what the HTML book shows: numbers of figures, equations, exercises; glued values ----


@dataclass
class Book:
    """What a built book shows for each label and glue name, read from ``_build``."""

    refs: dict[str, str] = field(default_factory=dict)  # label -> "Fig. 1.2", "(3.1)", ...
    titles: dict[str, str] = field(default_factory=dict)  # page name -> title
    glued: dict[str, dict[str, str]] = field(default_factory=dict)  # chapter -> name -> text

    @classmethod
    def read(cls, build: Path) -> Book:
        book = cls()
        html_dir = build / "html"
        if not (html_dir / "intro.html").is_file():
            raise FileNotFoundError(f"no built book in {build}: run `make book` first")
        for page in sorted((html_dir / "chapters").glob("*.html")):
            text = page.read_text(encoding="utf-8")
            book.refs.update(_numbers(text))
            title = re.search(r"<title>(.*?)( &#8212;.*)?</title>", text, re.S)
            if title:
                book.titles[page.stem] = html.unescape(title.group(1)).strip()
        # myst-nb moves each executed chapter's glued values into <chapter>.glue.json.
        for path in sorted((build / "jupyter_execute" / "chapters").glob("*.glue.json")):
            outputs = json.loads(path.read_text(encoding="utf-8"))
            cell = nbformat.from_dict({"outputs": list(outputs.values())})
            book.glued[path.name.removesuffix(".glue.json")] = glued_values({"cells": [cell]})
        return book


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _numbers(page: str) -> dict[str, str]:
    """``label -> text`` for the numbered things of one HTML page."""
    found = {}
    # figures: <figure ... id="name"> ... <span class="caption-number">Fig. 1.2 </span>
    for m in re.finditer(r'<figure[^>]*\bid="([^"]+)".*?</figure>', page, re.S):
        number = re.search(r'class="caption-number">(.*?)</span>', m.group(0), re.S)
        if number:
            found[m.group(1)] = _text(number.group(1)).rstrip(".")
    # equations: id="equation-name" ... <span class="eqno">(1.2)
    for m in re.finditer(r'id="equation-([^"]+)"[^>]*>\s*<span class="eqno">(.*?)<', page, re.S):
        found[m.group(1)] = _text(m.group(2))
    # sphinx-exercise: <div class="exercise admonition" id="name"> <p class="admonition-title">
    # <span class="caption-number">Exercise 1.2 </span>
    for m in re.finditer(
        r'<div[^>]*class="exercise[^"]*"[^>]*\bid="([^"]+)"[^>]*>\s*<p class="admonition-title">'
        r'\s*<span class="caption-number">(.*?)</span>',
        page,
        re.S,
    ):
        found[m.group(1)] = _text(m.group(2))
    return found


def glued_values(nb: dict) -> dict[str, str]:
    """``name -> text`` of an executed notebook's glued values, as ``{glue:text}`` shows them."""
    values = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            data = output.get("data", {})  # in .glue.json the prefix is already stripped
            text = data.get(prefix + "text/plain", data.get("text/plain"))
            if text is None:
                continue
            if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
                text = ast.literal_eval(text)  # myst-nb strips a str's quotes too
            values[meta["name"]] = text
    return values


# --- MyST to the Markdown Colab renders ---------------------------------------------------

OPENING = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<content>[^`]+)`")
TARGET = re.compile(r"^\([\w:-]+\)=[ \t]*\n?", re.M)
ADMONITIONS = {"note", "tip", "important", "warning", "caution", "attention", "hint", "seealso"}


@dataclass
class Context:
    chapter: str
    book: Book
    repo: dict[str, str]
    branch: str  # the branch the notebooks and figures are published on
    bib: dict[str, str]

    def page_url(self, page: str, anchor: str = "") -> str:
        page = page.removeprefix("../").removeprefix("/").removesuffix(".md")
        if "/" not in page and page != "intro":
            page = f"chapters/{page}"
        return f"{self.repo['pages']}/{page}.html" + (f"#{anchor}" if anchor else "")


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


def myst_to_markdown(text: str, ctx: Context) -> str:
    """MyST Markdown of one cell to plain Markdown (CommonMark, ``$`` math)."""
    text = TARGET.sub("", text)
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
        tag = ctx.book.refs.get(options.get("label", ""), "").strip("()")
        return ["$$", content + (f" \\tag{{{tag}}}" if tag else ""), "$$"]
    if name == "exercise":
        number = ctx.book.refs.get(options.get("label", ""), "Exercise")
        return quote(f"{number}" + (f" ({arg})" if arg else ""), content)
    if name == "solution":
        return quote(f"Solution to {ctx.book.refs.get(arg, 'the exercise')}", content)
    if name == "admonition":
        return quote(arg, content)
    if name in ADMONITIONS:
        return quote(name.capitalize(), content)
    if name == "figure":
        url = f"https://raw.githubusercontent.com/{ctx.repo['org_repo']}/{ctx.branch}/"
        url += arg.removeprefix("../")
        alt = options.get("alt", "").replace("]", ")").replace("[", "(")
        number = ctx.book.refs.get(options.get("name", ""), "Figure")
        return [f"![{alt}]({url})", "", f"*{number}.* {content}", ""]
    if name == "literalinclude":
        return ["```" + options.get("language", ""), literal_include(arg, options, ctx), "```"]
    raise ValueError(f"{ctx.chapter}: no plain-Markdown form for the {{{name}}} directive")


def literal_include(arg: str, options: dict, ctx: Context) -> str:
    """The text a ``{literalinclude}`` shows (whole file, or ``:pyobject:``), as of this build."""
    unknown = set(options) - {"language", "pyobject", "caption", "name"}
    if unknown:
        raise ValueError(f"{ctx.chapter}: {{literalinclude}} options {sorted(unknown)} unsupported")
    text = (ROOT / "chapters" / arg).read_text(encoding="utf-8")
    if "pyobject" not in options:
        return text.rstrip("\n")
    for node in ast.walk(ast.parse(text)):
        defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        if isinstance(node, defs) and node.name == options["pyobject"]:
            return "\n".join(text.splitlines()[node.lineno - 1 : node.end_lineno])
    raise ValueError(f"{ctx.chapter}: no {options['pyobject']!r} in {arg}")


def citation(key: str, ctx: Context) -> str:
    entry = ctx.bib.get(key)
    if entry is None:
        raise ValueError(f"{ctx.chapter}: {{cite}} key {key!r} not in references.bib")
    return entry


def role(name: str, content: str, ctx: Context) -> str:
    content = " ".join(content.split())
    explicit = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", content)
    text, target = (explicit["text"], explicit["target"]) if explicit else ("", content)
    if name in ("glue:text", "glue"):
        value = ctx.book.glued.get(ctx.chapter, {}).get(target)
        return value if value is not None else f"`{target}`"
    if name in ("eq", "numref"):
        number = ctx.book.refs.get(target)
        if number is None:
            raise ValueError(f"{ctx.chapter}: {{{name}}} target {target!r} is not in the book")
        if name == "numref" and text:
            return text.replace("%s", number.split(" ")[-1])
        return number
    if name == "ref":
        label = text or ctx.book.refs.get(target) or target
        page = _page_of(target, ctx)
        return f"[{label}]({ctx.page_url(page, target)})"
    if name == "doc":
        page = target.removesuffix(".md")
        label = text or ctx.book.titles.get(Path(page).name, Path(page).name)
        return f"[{label}]({ctx.page_url(page)})"
    if name in ("cite", "cite:p", "cite:t"):
        cites = "; ".join(citation(k.strip(), ctx) for k in target.split(","))
        return f"([{cites}]({ctx.page_url('references')}))"
    if name in ("class", "func", "meth", "mod", "attr", "data", "obj", "exc"):
        shown = target.lstrip("~").split(".")[-1] if target.startswith("~") else target
        return f"`{text or shown}`"
    if name == "math":
        return f"${content}$"
    raise ValueError(f"{ctx.chapter}: no plain-Markdown form for the {{{name}}} role")


def _page_of(label: str, ctx: Context) -> str:
    """The chapter whose source defines ``label`` (``(label)=`` or ``:label:``/``:name:``)."""
    for chapter in chapter_sources():
        text = chapter.read_text(encoding="utf-8")
        if re.search(rf"^\({re.escape(label)}\)=|^:(label|name): {re.escape(label)}$", text, re.M):
            return chapter.stem
        if re.search(rf"^\s*name: {re.escape(label)}$", text, re.M):
            return chapter.stem
    return ctx.chapter


def bibliography() -> dict[str, str]:
    """``key -> "Kingma & Welling, 2013"`` from references.bib (authors' surnames, year)."""
    entries = {}
    text = (ROOT / "references.bib").read_text(encoding="utf-8")
    for m in re.finditer(r"@\w+\{([^,]+),(.*?)\n\}", text, re.S):
        fields = dict(re.findall(r"(\w+)\s*=\s*\{(.*?)\},?\s*$", m.group(2), re.M))
        names = [a.split(",")[0].strip(" {}") for a in fields.get("author", "").split(" and ")]
        who = names[0] if len(names) == 1 else " & ".join(names) if len(names) == 2 else ""
        who = who or f"{names[0]} et al."
        entries[m.group(1).strip()] = f"{who}, {fields.get('year', 'n.d.')}"
    return entries


# --- the notebooks ---------------------------------------------------------------------


def chapter_sources() -> list[Path]:
    return [
        p
        for p in sorted((ROOT / "chapters").glob("*.md"))
        if p.read_text(encoding="utf-8").startswith("---\njupytext:")
    ]


def colab_notebook(chapter: Path, book: Book, repo: dict[str, str]) -> nbformat.NotebookNode:
    """The chapter as a notebook for a plain Colab image (see the module docstring)."""
    nb = jupytext.read(chapter)
    ctx = Context(chapter.stem, book, repo, colab_branch(), bibliography())
    cells = []
    install = nbformat.v4.new_code_cell(INSTALL_CELL.format(**repo))
    install.metadata["tags"] = ["remove-cell"]
    cells.append(install)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = myst_to_markdown(cell.source, ctx).strip("\n")
            cells.append(cell)
            continue
        if "remove-cell" in cell.metadata.get("tags", []):
            # Hidden in the book (set-up, checks, glue): Colab folds the code under a title
            # and still shows the output, e.g. the numbers that vae.glue prints.
            cell.source = f"#@title {HIDDEN_TITLE}\n{cell.source}"
            cell.metadata["cellView"] = "form"
        cells.append(cell)
        figure = cell.metadata.get("mystnb", {}).get("figure")
        if cell.cell_type == "code" and figure:
            number = book.refs.get(figure["name"], "Figure")
            caption = myst_to_markdown(str(figure.get("caption", "")), ctx).strip()
            cells.append(nbformat.v4.new_markdown_cell(f"*{number}.* {caption}"))
    nb.cells = cells
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    return nb


def write_notebooks(
    out: Path, build: Path | None = None, org_repo: str | None = None
) -> list[Path]:
    """Write ``out/chapters/<chapter>.ipynb`` for every MyST chapter, and ``out/figures/``.

    Returns the notebook paths. ``build`` is the built book (default ``_build``).
    """
    book = Book.read(build or ROOT / "_build")
    repo = repository(org_repo)
    written = []
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    for chapter in chapter_sources():
        target = out / "chapters" / chapter.with_suffix(".ipynb").name
        nbformat.write(colab_notebook(chapter, book, repo), target)
        written.append(target)
    shutil.copytree(
        ROOT / "figures",
        out / "figures",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("*.py", "__pycache__"),
    )
    return written


# --- the Sphinx extension: the Colab button ------------------------------------------------


def _rewrite_colab_button(app: Any, pagename: str, templatename: str, context: dict, doctree: Any):
    url = app.config.html_theme_options.get("repository_url") or repository()["url"]
    org_repo = "/".join(url.rstrip("/").split("github.com/", 1)[-1].split("/")[:2])
    branch = app.config.colab_branch
    for button in context.get("header_buttons", []):
        for item in button.get("buttons", []) if isinstance(button, dict) else []:
            if item.get("text") == "Colab":
                item["url"] = f"{COLAB}/github/{org_repo}/blob/{branch}/{pagename}.ipynb"


def _repository_from_environment(app: Any, config: Any) -> None:
    """On GitHub Actions, the buttons point at the repository the build runs in (a fork)."""
    if os.environ.get("GITHUB_REPOSITORY"):
        config.html_theme_options["repository_url"] = repository()["url"]


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("colab_branch", "notebooks", "html")
    # Before the theme reads the URL (builder-inited), for the repository and launch buttons
    # and Thebe alike.
    app.connect("config-inited", _repository_from_environment)
    # After sphinx-book-theme's own launch-button handler (priority 501).
    app.connect("html-page-context", _rewrite_colab_button, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "_build" / "notebooks")
    parser.add_argument("--build", type=Path, default=ROOT / "_build", help="built book")
    parser.add_argument("--repository", help="OWNER/REPO (default: $GITHUB_REPOSITORY)")
    parser.add_argument(
        "--print-branch", action="store_true", help="print the branch to publish OUT on, and stop"
    )
    args = parser.parse_args(argv)
    if args.print_branch:
        print(colab_branch())
        return
    for path in write_notebooks(args.out, args.build, args.repository):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
