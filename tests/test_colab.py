"""The generated notebooks (Colab and Binder open them) read as the HTML book reads, and run
in Colab's runtime.

* Their Markdown has no MyST left (Colab renders CommonMark and ``$`` math only), every number
  the HTML pastes into a chapter's prose is in its notebook's Markdown, and every figure of the
  HTML is stored in the notebook with its number and caption.
* Marked ``colab``: a venv with Colab's pins (``tools/colab-runtime.txt``: ipywidgets 7.7.1,
  IPython 7.34, numpy 2.1.3, ...; Python 3.11 and torch 2.13 standing in for Colab's 3.13 and
  2.11; :mod:`book.colab_runtime`, cached in ``$VAE_COLAB_VENV``, default
  ``.venvs/colab``). The install cell as written (installing from a wheel of this checkout
  instead of the repository, which needs the network) adds ``vae`` and changes no installed
  package (``pip freeze`` before and after), and with an unreachable source it stops with a
  message naming the repository and branch, not pip's traceback. Then every notebook runs top
  to bottom in that venv's kernel (nbclient, an empty working directory, as Colab's /content)
  and shows live what the HTML book shows: each figure, each widget view, each glued number.

All reuse the book built by ``tests/test_book_build.py`` (``book_build`` in conftest.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from book import colab_runtime, notebooks
from book.built import BuiltBook
from book.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = [p.relative_to(ROOT).with_suffix("").as_posix() for p in notebooks.chapters()]
LEFTOVER_MYST = [
    re.compile(r"\{[\w:-]+\}`"),  # a role
    re.compile(r"^\s*(```|:::)+\{", re.M),  # a directive
    re.compile(r"^\([\w:-]+\)=\s*$", re.M),  # a target
]
WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_PACKAGES = ("ipywidgets", "widgetsnbextension", "ipython", "ipykernel", "numpy", "torch")


@pytest.fixture(scope="module")
def built(book_html: Path) -> BuiltBook:
    return BuiltBook.read(book_html.parent)


def markdown_of(nb: nbformat.NotebookNode) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def html_figures(page: Path) -> list[str]:
    """Ids of the figures of a chapter page, in order."""
    return re.findall(r'<figure[^>]*\bid="([^"]+)"', page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("doc", CHAPTERS)
def test_notebook_markdown_is_plain_and_holds_every_number_of_the_html(
    doc, colab_notebooks: Path, built: BuiltBook, book_html: Path
):
    nb = nbformat.read(colab_notebooks / f"{doc}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for pattern in LEFTOVER_MYST:
                assert not pattern.search(cell.source), f"{doc}: MyST left in\n{cell.source}"
    text = markdown_of(nb)
    missing = {k: v for k, v in built.glued.get(doc, {}).items() if v not in text}
    assert not missing, f"{doc}: glued values of the HTML not in the notebook's prose: {missing}"
    # Figures: each numbered figure of the HTML is in the notebook, with its number.
    page = book_html / f"{doc}.html"
    for fig in html_figures(page):
        number = built.numbers[fig]
        assert f"*{number}.*" in text, f"{doc}: no caption '{number}.' for figure {fig}"
    for cell in nb.cells:
        if cell.metadata.get("mystnb", {}).get("figure"):
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert len(images) == 1, f"{doc}: figure cell stores {len(images)} images, not 1"


def test_hidden_cells_are_folded_in_colab_and_jupyter(colab_notebooks: Path):
    for doc in CHAPTERS:
        nb = nbformat.read(colab_notebooks / f"{doc}.ipynb", as_version=4)
        for cell in nb.cells:
            if "remove-cell" in cell.metadata.get("tags", []):
                assert cell.metadata["cellView"] == "form" and cell.source.startswith("#@title")
                assert cell.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}


def test_every_figure_of_the_html_is_an_image(book_html: Path):
    """A figure cell whose output is not an image (a Figure shown as its text repr, say)
    still makes a numbered, captioned figure: catch it in the HTML."""
    for doc in CHAPTERS:
        page = (book_html / f"{doc}.html").read_text(encoding="utf-8")
        for m in re.finditer(r'<figure[^>]*\bid="([^"]+)".*?</figure>', page, re.S):
            assert "<img " in m[0], f"{doc}: figure {m[1]} holds no image"


# ---- Colab's runtime ------------------------------------------------------------------------

RUN = """\
import sys, nbclient, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
if len(sys.argv) > 4:
    nb.cells = nb.cells[: int(sys.argv[4])]
client = nbclient.NotebookClient(nb, kernel_name="colab-pins", timeout=600,
                                 allow_errors=len(sys.argv) > 4,
                                 resources={"metadata": {"path": sys.argv[3]}})
client.execute()
nbformat.write(nb, sys.argv[2])
"""


def wheels_of_this_checkout(tmp: Path) -> dict[str, str]:
    """Wheels of ``vae`` and ``book`` (``vae-book``), built offline from copies (a build in
    place would leave build/ in the checkout); import name -> file URL."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    urls = {}
    for name, folder in (("vae", ROOT), ("book", ROOT / "book")):
        package = tmp / "packages" / name
        shutil.copytree(folder / "src" / name, package / "src" / name)
        for extra in ("pyproject.toml", "README.md"):
            if (folder / extra).is_file():
                shutil.copy(folder / extra, package / extra)
        subprocess.run([*cmd, "-w", str(tmp / "dist"), str(package)], check=True, timeout=300)
        dist = "vae" if name == "vae" else "vae_book"
        urls[name] = next((tmp / "dist").glob(f"{dist}-*.whl")).as_uri()
    return urls


@pytest.fixture(scope="module")
def colab(tmp_path_factory, book_html: Path) -> dict:
    """The Colab-pinned venv without ``vae``, a kernel of it, and notebooks whose install cell
    installs a wheel of this checkout."""
    tmp = tmp_path_factory.mktemp("colab-runtime")
    py = colab_runtime.ensure()
    colab_runtime.remove_vae(py)
    env = colab_runtime.kernel_spec(py, tmp / "jupyter")  # without this checkout's src/
    wheels = wheels_of_this_checkout(tmp)
    out = tmp / "notebooks"
    repo = Repository.from_config()
    notebooks.write(out, build=book_html.parent, repo=repo, sources=wheels)
    work = tmp / "content"  # Colab's empty /content, not chapters/
    work.mkdir()
    return {"py": py, "env": env, "out": out, "work": work, "tmp": tmp, "repo": repo}


def run(colab: dict, src: Path, dst: Path, cells: int | None = None) -> subprocess.Popen:
    args = [sys.executable, "-c", RUN, str(src), str(dst), str(colab["work"])]
    if cells is not None:
        args.append(str(cells))
    return subprocess.Popen(
        args, env=colab["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(proc: subprocess.Popen, what: str) -> None:
    log = proc.communicate(timeout=900)[0]
    assert proc.returncode == 0, f"{what}: nbclient failed in the Colab-pinned venv:\n{log[-4000:]}"


def output_text(cell) -> str:
    outputs = cell.get("outputs", [])
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def last_error(log: str) -> str:
    """The end of an nbclient failure, without terminal colours."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", log).rstrip().splitlines()
    return "\n".join(lines[-25:])


@pytest.mark.colab
def test_install_cell_with_an_unreachable_source_says_what_to_do(colab):
    """Before the package is published: a message with the repository and branch, stopping
    "Run all", and no pip traceback."""
    nb = nbformat.read(colab["out"] / f"{CHAPTERS[0]}.ipynb", as_version=4)
    missing = (colab["tmp"] / "not-published" / "vae-0.1.0-py3-none-any.whl").as_uri()
    nb.cells[0].source = re.sub(r'"vae @ [^"]*"', f'"vae @ {missing}"', nb.cells[0].source)
    src, dst = colab["tmp"] / "unpublished.ipynb", colab["tmp"] / "unpublished.out.ipynb"
    nbformat.write(nb, src)
    finish(run(colab, src, dst, cells=1), "unpublished")
    (error,) = [o for o in nbformat.read(dst, 4).cells[0].outputs if o.output_type == "error"]
    repo = colab["repo"]
    assert error.ename == "NotInstalled", error
    shown = "\n".join(error.traceback)
    assert f"{repo.url}, branch {repo.branch}" in shown, shown
    assert "Traceback" not in shown and "File " not in shown, f"a traceback is shown:\n{shown}"


@pytest.fixture(scope="module")
def freeze_diff(colab) -> dict:
    """Run the install cell (the first cell) where vae is missing: ``pip freeze`` before and
    after, and what the cell printed."""
    before = colab_runtime.freeze(colab["py"])
    src = colab["out"] / f"{CHAPTERS[0]}.ipynb"
    dst = colab["tmp"] / "install.ipynb"
    finish(run(colab, src, dst, cells=1), "install cell")
    after = colab_runtime.freeze(colab["py"])
    cell = nbformat.read(dst, 4).cells[0]
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    changed = {
        k: (before.get(k), after.get(k))
        for k in before.keys() | after.keys()
        if before.get(k) != after.get(k)
    }
    print(f"install cell: {output_text(cell).strip()}\npip freeze diff: {changed}")
    return {"changed": changed, "printed": output_text(cell), "before": before}


@pytest.mark.colab
def test_install_cell_adds_vae_and_changes_no_installed_package(freeze_diff):
    changed, before = freeze_diff["changed"], freeze_diff["before"]
    pins = colab_runtime.pins()
    held = {k: before.get(k, "").split("+")[0] for k in pins}  # 2.13.0+cpu is 2.13.0
    assert held == pins, f"the venv does not hold Colab's pins: {held}"
    added = {k for k, (old, new) in changed.items() if old is None}
    assert added == set(changed) == {"vae", "vae-book"}, (
        f"the install cell changed installed packages (before, after): {changed}"
    )
    assert "Installed vae 0.1.0, vae-book 0.1.0" in freeze_diff["printed"], freeze_diff["printed"]
    assert "no installed package was changed" in freeze_diff["printed"]


@pytest.fixture(scope="module")
def live_notebooks(colab, freeze_diff) -> dict[str, Path]:
    """Every notebook executed in the Colab-pinned kernel, two at a time (2-core CI)."""
    done, running = {}, []
    for doc in CHAPTERS:
        dst = colab["tmp"] / "live" / f"{doc}.ipynb"
        dst.parent.mkdir(parents=True, exist_ok=True)
        running.append((doc, dst, run(colab, colab["out"] / f"{doc}.ipynb", dst)))
        while len(running) >= 2 or (doc == CHAPTERS[-1] and running):
            doc_, dst_, proc = running.pop(0)
            log = proc.communicate(timeout=900)[0]
            done[doc_] = dst_ if proc.returncode == 0 else log
    return done


def printed_glue(nb: nbformat.NotebookNode) -> dict[str, str]:
    """``name -> value`` of the ``name = value`` lines that vae.glue.glue prints."""
    values = {}
    for cell in nb.cells:
        for line in output_text(cell).splitlines():
            if m := re.fullmatch(r"(\S+) = (.*)", line):
                values[m[1]] = m[2]
    return values


@pytest.mark.colab
@pytest.mark.parametrize("doc", CHAPTERS)
def test_notebook_runs_in_colabs_runtime_and_shows_what_the_html_shows(
    doc, live_notebooks, book_html: Path, built: BuiltBook
):
    result = live_notebooks[doc]
    assert isinstance(result, Path), (
        f"{doc} stops in a venv with Colab's pins (ipywidgets 7.7.1, IPython 7.34, numpy 2.1.3; "
        f"{sys.executable} runs nbclient):\n{last_error(result)}"
    )
    nb = nbformat.read(result, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "a cell did not run"
    assert "already installed" in output_text(code[0])
    page = book_html / f"{doc}.html"
    live = {
        c.metadata["mystnb"]["figure"]["name"]: sum(
            "image/png" in o.get("data", {}) for o in c.outputs
        )
        for c in code
        if c.metadata.get("mystnb", {}).get("figure")
    }
    for fig in html_figures(page):
        if not _is_static(doc, fig):
            assert live.get(fig) == 1, (
                f"{doc}: figure {fig}: {live.get(fig)} images live, 1 in the HTML"
            )
    views = sum(WIDGET in o.get("data", {}) for c in code for o in c.outputs)
    embedded = page.read_text(encoding="utf-8").count(f'<script type="{WIDGET}">')
    assert views == embedded, f"{doc}: {views} live widget views, {embedded} in the HTML"
    html_numbers, live_numbers = built.glued.get(doc, {}), printed_glue(nb)
    assert set(html_numbers) <= set(live_numbers), set(html_numbers) - set(live_numbers)
    differ = {k: (v, live_numbers[k]) for k, v in html_numbers.items() if live_numbers[k] != v}
    print(f"{doc}: {len(live)} figures, {views} widget views, {len(html_numbers)} numbers")
    timings = {k for k in differ if re.search(r"(^|-)t(ime)?-", k)}  # wall-clock, not seeded
    assert set(differ) == timings, f"{doc}: numbers differ from the HTML's (html, live): {differ}"


def _is_static(doc: str, fig: str) -> bool:
    """A figure drawn by figures/make_figures.py ({figure} directive), not by a cell."""
    source = (ROOT / f"{doc}.md").read_text(encoding="utf-8")
    return re.search(rf"```{{figure}} \S+\n:name: {re.escape(fig)}\n", source) is not None


def test_colab_runtime_pins_are_read_from_one_file():
    pins = colab_runtime.pins()
    assert pins["ipywidgets"] == "7.7.1" and pins["widgetsnbextension"] == "3.6.10", pins
    assert set(WIDGET_PACKAGES) <= set(pins), set(WIDGET_PACKAGES) - set(pins)
