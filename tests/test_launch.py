"""One click to a live copy: Binder, Colab and Thebe, checked without a network.

* repo2docker renders (``--no-build``) the Dockerfile Binder would build from ``binder/``
  (Python 3.11; Thebe's image), and ``binder/postBuild`` installs the package and stops at a
  failure;
* the Binder requirements agree with the root ones, except where ``binder/requirements.txt``
  says why; the notebooks branch's ``binder/`` is the same plus ``vae`` from the repository;
* a fresh virtual environment made from the notebooks branch's Binder requirements executes
  the notebook the Binder button opens (marked ``binder``, slow);
* every chapter page of the built book has the Binder, Colab and live-code buttons, and a
  book built for another repository (``GITHUB_REPOSITORY``, as on GitHub Actions in a fork)
  links only into that repository, at files that exist there or in its published notebooks
  (Binder and Colab open the generated notebooks);
* the notebooks start with a cell that installs ``vae`` only where it is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
import yaml

from book.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
CHAPTERS = sorted(
    p for p in (ROOT / "chapters").glob("*.md") if p.read_text().startswith("---\njupytext:")
)
REPO = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
NOTEBOOKS_BRANCH = Repository.from_config().notebooks_branch

# Root requirements that Binder leaves out on purpose (see binder/requirements.txt).
# Tools that build or test the HTML book (binder/requirements.txt, item 3): the theme pair
# pinned for the book's menu buttons is one of them.
NOT_ON_BINDER = {
    "jupyter-book",
    "sphinx-book-theme",
    "pydata-sphinx-theme",
    "sphinx-exercise",
    "sphinxcontrib-bibtex",
    "nbval",
    "pytest",
}
# Binder requirements not in requirements.txt: JupyterLab renders the chapters' MyST.
ONLY_LIVE = {"jupyterlab-myst"}


def requirements(path: Path) -> dict[str, str]:
    """``{name: specifier}`` of a requirements file, ignoring comments and options."""
    reqs = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, spec = re.match(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", line).groups()
        reqs[name.lower()] = spec.replace(" ", "")
    return reqs


def test_binder_pins_agree_with_the_root_requirements():
    root, binder = (
        requirements(ROOT / "requirements.txt"),
        requirements(BINDER / "requirements.txt"),
    )
    assert root["torch"] == "==2.13.0" and binder["torch"] == "==2.13.0+cpu"
    dev = requirements(ROOT / "requirements-dev.txt")
    for name, spec in binder.items():
        if name in ONLY_LIVE:  # for reading live, from the dev requirements, same pin
            assert dev.get(name) == spec, f"{name}: dev {dev.get(name)!r}, binder {spec!r}"
        elif name != "torch":
            assert root.get(name) == spec, f"{name}: root {root.get(name)!r}, binder {spec!r}"
    assert set(root) - set(binder) == NOT_ON_BINDER
    assert set(binder) - set(root) == ONLY_LIVE
    assert "-e ." in (ROOT / "requirements.txt").read_text()
    binder_lines = (BINDER / "requirements.txt").read_text().splitlines()
    assert not any(line.startswith(("-e", "-r")) for line in binder_lines)  # no local refs


def _run_post_build(tmp_path: Path, failing: str = "") -> tuple[int, list[str]]:
    """Run binder/postBuild in the repository with stand-ins for the commands it calls, which
    record their arguments (``failing``: the stand-in that exits 1); return (status, calls)."""
    bindir, log = tmp_path / "bin", tmp_path / "calls"
    bindir.mkdir()
    for name in ("python", "jupytext-config"):
        status = 1 if name == failing else 0
        stub = bindir / name
        stub.write_text(f'#!/bin/bash\necho "{name} $*" >> "{log}"\nexit {status}\n')
        stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([str(BINDER / "postBuild")], cwd=ROOT, env=env, timeout=60)
    return proc.returncode, log.read_text().splitlines() if log.exists() else []


def test_post_build_installs_the_package_then_opens_markdown_as_notebooks(tmp_path: Path):
    status, calls = _run_post_build(tmp_path)
    assert status == 0
    assert calls == [
        "python -m pip install --no-deps --no-cache-dir -e . -e ./book",
        "jupytext-config set-default-viewer",
    ]


def test_post_build_stops_at_the_first_failure(tmp_path: Path):
    status, calls = _run_post_build(tmp_path, failing="python")
    assert status != 0 and calls == [
        "python -m pip install --no-deps --no-cache-dir -e . -e ./book"
    ]


def test_repo2docker_installs_requirements_before_the_copy_and_the_package_after():
    r2d = Path(sys.executable).parent / "jupyter-repo2docker"
    proc = subprocess.run(
        [str(r2d), "--no-build", "--no-run", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert "Building conda environment for python=3.11" in out
    lines = out.splitlines()

    def index(pattern: str) -> int:
        hits = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert hits, f"no Dockerfile line matches {pattern!r}"
        return hits[0]

    copy_reqs = index(r"^COPY .*binder/requirements\.txt")
    install = index(r'^RUN .*pip install --no-cache-dir -r "binder/requirements\.txt"')
    copy_repo = index(r"^COPY --chown=\S+ src/ \$\{REPO_DIR\}/$")
    post_build = index(r"^RUN \./binder/postBuild$")
    # Only the requirements file is copied before the install (a cached layer), the package
    # is installed by postBuild after the whole repository is in the image.
    assert copy_reqs < install < copy_repo < post_build


def _chapter_html(book_html: Path) -> list[Path]:
    pages = [book_html / "chapters" / p.with_suffix(".html").name for p in CHAPTERS]
    assert pages and all(p.is_file() for p in pages)
    return pages


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="(https?://[^"]+)"', html)


def test_every_chapter_page_has_binder_colab_and_live_code_buttons(
    book_html: Path, sample_repository: str
):
    for page in _chapter_html(book_html):
        html, name = page.read_text(), page.stem
        # Binder opens the generated notebook on the notebooks branch, as Colab does.
        binder = f"https://mybinder.org/v2/gh/{sample_repository}/{NOTEBOOKS_BRANCH}"
        assert f'href="{binder}?urlpath=lab/tree/chapters/{name}.ipynb"' in html, name
        colab_url = f"https://colab.research.google.com/github/{sample_repository}/blob/notebooks"
        assert f'href="{colab_url}/chapters/{name}.ipynb"' in html, name
        assert "initThebeSBT()" in html and "launch-thebe" in html, name
        assert f'repo: "{sample_repository}"' in html and f'ref: "{REPO["branch"]}"' in html, name


def test_a_build_for_a_repository_links_only_into_it_at_files_that_exist(
    book_html: Path, colab_notebooks: Path, sample_repository: str
):
    """Built with GITHUB_REPOSITORY=sample-owner/sample-book (a fork, say): the repository,
    Binder, Colab and Live Code links all lead into that repository, at a file that the
    repository (Thebe), or the published notebooks (Binder, Colab) hold."""
    binder_re = re.compile(
        r"https://mybinder\.org/v2/gh/([^/]+/[^/]+)/([^?]+)\?urlpath=lab/tree/(.+)"
    )
    colab_re = re.compile(
        r"https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/([^/]+)/(.+)"
    )
    branch = NOTEBOOKS_BRANCH
    seen = {"repository": 0, "binder": 0, "colab": 0, "thebe": 0}
    for page in sorted(book_html.rglob("*.html")):
        html = page.read_text()
        for href in re.findall(r'<a href="([^"]+)"[^>]*\s+class="[^"]*btn-source-repository', html):
            assert href == f"https://github.com/{sample_repository}", (page, href)
            seen["repository"] += 1
        for href in _hrefs(html):
            if m := binder_re.match(href):
                assert m[1] == sample_repository and m[2] == branch, href
                assert (colab_notebooks / m[3]).is_file(), f"{page.name}: no notebook {m[3]}"
                seen["binder"] += 1
            if m := colab_re.match(href):
                assert m[1] == sample_repository and m[2] == branch, href
                assert (colab_notebooks / m[3]).is_file(), f"{page.name}: no notebook {m[3]}"
                seen["colab"] += 1
        for repo, ref, path in re.findall(
            r'repo: "([^"]+)",\s*ref: "([^"]+)".*?path: "([^"]*)"', html, re.S
        ):
            assert (repo, ref) == (sample_repository, REPO["branch"]), page
            assert (ROOT / path).is_dir(), f"{page.name}: Thebe starts in missing {path}"
            seen["thebe"] += 1
    assert seen["binder"] >= len(CHAPTERS) and seen["colab"] >= len(CHAPTERS), seen
    assert seen["thebe"] >= len(CHAPTERS) and seen["repository"] >= len(CHAPTERS), seen
    # The notebooks install vae from that repository and load figures from its Colab branch.
    raw = f"https://raw.githubusercontent.com/{sample_repository}/{branch}/"
    for path in sorted((colab_notebooks / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert (
            f"vae @ git+https://github.com/{sample_repository}@{REPO['branch']}"
            in nb.cells[0].source
        )
        for cell in nb.cells:
            for url in re.findall(r"\]\((https://[^)\s]+)\)", cell.source):
                if url.startswith("https://raw.githubusercontent.com/"):
                    assert url.startswith(raw) and (colab_notebooks / url[len(raw) :]).is_file()


def test_notebooks_install_vae_first_from_the_repository_and_only_where_it_is_missing(
    colab_notebooks: Path, sample_repository: str, capsys
):
    """The install cell is plain Python (Colab and Jupyter run it alike); where ``vae`` is
    importable, as here and on Binder, it only says so. (Installing where it is missing:
    tests/test_colab.py, in a venv with Colab's pins.)"""
    paths = sorted((colab_notebooks / "chapters").glob("*.ipynb"))
    assert [p.stem for p in paths] == [p.stem for p in CHAPTERS]
    for path in paths:
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "code" and first.metadata["cellView"] == "form"
        source = f"git+https://github.com/{sample_repository}@{REPO['branch']}"
        assert f'"vae": "vae @ {source}"' in first.source
        assert f'"book": "vae-book @ {source}#subdirectory=book"' in first.source
    namespace: dict = {}

    def no_pip(*args, **kwargs):
        raise AssertionError(f"the install cell ran {args} where vae is installed")

    real = subprocess.run
    subprocess.run = no_pip
    try:
        exec(compile(first.source, "install cell", "exec"), namespace)
    finally:
        subprocess.run = real
    assert "are already installed: nothing to do" in capsys.readouterr().out


def test_notebooks_branch_has_its_own_binder_environment(
    colab_notebooks: Path, sample_repository: str
):
    """Binder builds the notebooks branch from its binder/: the source branch's requirements
    and runtime, plus vae from the repository (no local reference, so repo2docker's layer
    cache holds)."""
    generated = colab_notebooks / "binder"
    assert (generated / "runtime.txt").read_text() == (BINDER / "runtime.txt").read_text()
    lines = (generated / "requirements.txt").read_text().splitlines()
    source = (BINDER / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if line in source] == source
    added = [line for line in lines if line not in source and not line.startswith("#")]
    url = f"git+https://github.com/{sample_repository}@{REPO['branch']}"
    assert added == [f"vae @ {url}", f"vae-book @ {url}#subdirectory=book"]


@pytest.mark.binder
def test_fresh_binder_environment_runs_the_notebook_the_binder_button_opens(
    tmp_path: Path, colab_notebooks: Path
):
    """Make the notebooks branch's Binder environment in a new venv (CPU index dropped: here
    the CPU wheel is local; vae from this checkout instead of the repository), and execute the
    first chapter's generated notebook there."""
    reqs = (colab_notebooks / "binder" / "requirements.txt").read_text()
    reqs = reqs.replace("--extra-index-url https://download.pytorch.org/whl/cpu", "")
    reqs = reqs.replace("torch==2.13.0+cpu", "torch==2.13.0")
    reqs = re.sub(r"^vae(-book)? @ .*$", "", reqs, flags=re.M)
    (tmp_path / "requirements.txt").write_text(reqs)
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    py = str(env_dir / "bin" / "python")
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(tmp_path / "requirements.txt")], check=True, timeout=900)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT), "-e", str(ROOT / "book")], check=True)
    check = "import vae, book, jupytext, torch; print(vae.__file__, torch.__version__)"
    out = subprocess.run([py, "-c", check], capture_output=True, text=True, check=True)
    assert str(ROOT / "src" / "vae") in out.stdout and "+cpu" in out.stdout
    notebook = colab_notebooks / "chapters" / f"{CHAPTERS[0].stem}.ipynb"
    executed = tmp_path / "executed.ipynb"
    run = (
        "import sys, nbclient, nbformat\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, kernel_name='python3', timeout=600,"
        " resources={'metadata': {'path': sys.argv[3]}}).execute()\n"
        "nbformat.write(nb, sys.argv[2])\n"
    )
    subprocess.run(
        [py, "-c", run, str(notebook), str(executed), str(notebook.parent)],
        check=True,
        timeout=900,
        env={**os.environ, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )
    nb = nbformat.read(executed, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    assert "already installed" in "".join(o.get("text", "") for o in code[0].outputs)
