"""The Colab notebooks read as plain Markdown and run top to bottom on a bare Python.

* No MyST is left in their Markdown cells (Colab renders CommonMark and ``$`` math only).
* Marked ``colab`` (slow, run by ``make test``): a fresh virtual environment holds only ``vae``
  and its declared dependencies plus ipykernel and ipywidgets (what a plain Colab image
  brings; no myst-nb, no jupytext); every notebook runs there top to bottom with no error,
  in an empty working directory, and shows live what the HTML book shows: every figure of
  a chapter page is an output of its notebook (or, for a static drawing, an image the
  published notebooks hold), every widget of the page is a live widget, and every number
  the page pastes into its prose is printed by the notebook's glue cells.

Both reuse the book built by ``tests/test_book_build.py`` (``book_build`` in conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(ROOT / "tools"))
import colab  # noqa: E402  (tools/colab.py: the Colab notebooks and button)

sys.path.pop(0)

CHAPTERS = [p.stem for p in colab.chapter_sources()]
LEFTOVER_MYST = [
    re.compile(r"\{[\w:-]+\}`"),  # a role
    re.compile(r"^\s*(```|:::)+\{", re.M),  # a directive
    re.compile(r"^\([\w:-]+\)=\s*$", re.M),  # a target
]
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_colab_markdown_has_no_myst_left(colab_notebooks: Path):
    for name in CHAPTERS:
        nb = nbformat.read(colab_notebooks / "chapters" / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for pattern in LEFTOVER_MYST:
                assert not pattern.search(cell.source), f"{name}: MyST left in\n{cell.source}"


def test_every_figure_of_the_html_is_an_image(book_html: Path):
    """A figure cell whose output is not an image (a Figure shown as its text repr, say)
    still makes a numbered, captioned figure: catch it in the HTML."""
    for name in CHAPTERS:
        page = (book_html / "chapters" / f"{name}.html").read_text(encoding="utf-8")
        for m in re.finditer(r'<figure[^>]*\bid="([^"]+)".*?</figure>', page, re.S):
            assert "<img " in m[0], f"{name}: figure {m[1]} holds no image"


def html_figures(page: Path) -> list[str]:
    """Ids of the figures of a chapter page, in order."""
    return re.findall(r'<figure[^>]*\bid="([^"]+)"', page.read_text(encoding="utf-8"))


def html_widgets(page: Path) -> int:
    return page.read_text(encoding="utf-8").count(f'<script type="{WIDGET}">')


RUN = """\
import sys, nbclient, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, kernel_name="bare-python", timeout=600,
                        resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])
"""


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new venv with ``vae`` (a wheel of this checkout) and its declared dependencies, plus
    ipykernel and ipywidgets as on Colab, and nbclient to drive the kernel; returns its python
    and the environment that runs it (its own kernel first on JUPYTER_PATH)."""
    tmp = tmp_path_factory.mktemp("bare")
    env_dir = tmp / "env"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # torch pinned as in requirements.txt: the wheel already in pip's cache, not a new download.
    subprocess.run([*pip, "torch==2.13.0"], check=True, timeout=900)
    # The package from a copy: building a wheel in place would leave build/ in the checkout.
    package = tmp / "package"
    shutil.copytree(ROOT / "src", package / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, package / name)
    subprocess.run(
        [*pip, str(package), "ipykernel", "ipywidgets>=8.1,<9", "nbclient"],
        check=True,
        timeout=900,
    )
    spec = tmp / "jupyter" / "kernels" / "bare-python"
    spec.mkdir(parents=True)
    argv = [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    env = {**os.environ, "JUPYTER_PATH": str(tmp / "jupyter"), "PYTHONNOUSERSITE": "1"}
    env.pop("PYTHONPATH", None)
    return py, env


@pytest.fixture(scope="module")
def live_notebooks(bare_python, colab_notebooks: Path, tmp_path_factory) -> dict[str, Path]:
    """Every Colab notebook executed in the bare environment, two at a time (2-core CI)."""
    py, env = bare_python
    absent = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.util as u; print(u.find_spec('myst_nb'), "
            "u.find_spec('jupytext'), u.find_spec('vae').origin)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.split()
    assert absent[:2] == ["None", "None"], f"not a bare environment: {absent}"
    assert str(ROOT) not in absent[2]  # an installed wheel, not this checkout
    out = tmp_path_factory.mktemp("live")
    work = tmp_path_factory.mktemp("content")  # Colab's empty /content, not chapters/
    done, running = {}, []
    for name in CHAPTERS:
        src, dst = colab_notebooks / "chapters" / f"{name}.ipynb", out / f"{name}.ipynb"
        proc = subprocess.Popen(
            [str(py), "-c", RUN, str(src), str(dst), str(work)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        running.append((name, dst, proc))
        while len(running) >= 2 or (name == CHAPTERS[-1] and running):
            name_, dst_, proc_ = running.pop(0)
            log = proc_.communicate(timeout=900)[0]
            assert proc_.returncode == 0, f"{name_} failed in the bare environment:\n{log[-4000:]}"
            done[name_] = dst_
    return done


def printed_glue(nb: nbformat.NotebookNode) -> dict[str, str]:
    """``name -> value`` of the ``name = value`` lines that vae.glue.glue prints."""
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in output["text"].splitlines():
                    if m := re.fullmatch(r"(\S+) = (.*)", line):
                        values[m[1]] = m[2]
    return values


@pytest.mark.colab
@pytest.mark.parametrize("name", CHAPTERS)
def test_colab_notebook_runs_bare_and_shows_what_the_html_shows(
    name, live_notebooks, book_html: Path, colab_notebooks: Path
):
    nb = nbformat.read(live_notebooks[name], as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "a cell did not run"
    errors = [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, errors

    page = book_html / "chapters" / f"{name}.html"
    # Figures: each figure of the page is the image output of its cell, or a static drawing.
    live = {}
    for cell in code:
        figure = cell.metadata.get("mystnb", {}).get("figure")
        if figure:
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            live[figure["name"]] = len(images)
    static = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for url in re.findall(r"!\[[^\]]*\]\((https://[^)\s]+)\)", cell.source):
                static[url.rsplit("/", 1)[-1]] = (
                    colab_notebooks / "figures" / url.rsplit("/", 1)[-1]
                )
    sources = (ROOT / "chapters" / f"{name}.md").read_text(encoding="utf-8")
    for fig_id in html_figures(page):
        if fig_id in live:
            assert live[fig_id] == 1, f"{fig_id}: {live[fig_id]} images live, 1 in the HTML"
            continue
        drawing = re.search(rf"```{{figure}} \.\./figures/(\S+)\n:name: {fig_id}\n", sources)
        assert drawing, f"figure {fig_id} of the HTML is not shown live"
        assert static.get(drawing[1]) and static[drawing[1]].is_file(), fig_id
    assert set(live) <= set(html_figures(page))

    # Widgets: as many live widget views as the page embeds.
    views = sum(WIDGET in o.get("data", {}) for c in code for o in c.outputs)
    assert views == html_widgets(page)

    # Numbers: every number the page pastes is printed live, and the same number.
    html_numbers = colab.Book.read(book_html.parent).glued.get(name, {})
    live_numbers = printed_glue(nb)
    assert set(html_numbers) <= set(live_numbers), set(html_numbers) - set(live_numbers)
    differ = {k: (v, live_numbers[k]) for k, v in html_numbers.items() if live_numbers[k] != v}
    print(
        f"{name}: {len(live)} figures live, {len(static)} static; {views} widgets; "
        f"{len(html_numbers)} numbers, differing: {differ}"
    )
    timings = {k for k in differ if re.search(r"(^|-)t(ime)?-", k)}  # wall-clock, not seeded
    assert set(differ) == timings, differ
