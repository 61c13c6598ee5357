"""Binder's JupyterLab, in headless Chromium, shows what the HTML book shows.

JupyterLab as ``binder/`` sets it up (jupyterlab, jupyterlab-myst, jupytext as the default
viewer, ``vae`` installed), serving the notebooks branch of the test build (``make notebooks``:
``colab_notebooks`` in conftest.py) on 127.0.0.1. For each chapter the test opens the address
the chapter page's Binder button opens (its ``urlpath``) and reads the rendered notebook:

* before running: no glue name, raw MyST role, "Not Found" marker or line of hidden-cell code in
  the visible page; every number the HTML pastes into the chapter's prose, its figure numbers,
  equation numbers, exercise numbers and citation labels are there; the file is not modified;
* for the chapters with explorers, after "Run all" (JupyterLab's own command): no cell error,
  the same checks again, every explorer renders, and moving its slider changes what it shows.

Marked ``jupyterlab``. JupyterLab 4 renders only the cells near the viewport; the test turns that
off (``windowingMode: none``, STACK-NOTES.md) so that the whole notebook is in the page.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest

from book import notebooks
from book.built import BuiltBook

pytestmark = pytest.mark.jupyterlab

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHAPTERS = [p.relative_to(ROOT).with_suffix("").as_posix() for p in notebooks.chapters()]
WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'
TIMEOUT_MS = 60_000
RAW = [
    (re.compile(r"\{[\w:-]+\}`[^`]*`"), "a raw MyST role"),
    (re.compile(r"Not Found"), "a 'Not Found' marker of jupyterlab-myst"),
]

PANEL = "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
READY_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || !w.context.isReady || !w.content || !w.content.widgets) return false;
  const md = w.content.widgets.filter(c => c.model.type === "markdown");
  const shown = c => c.rendered && c.node.innerText.trim();  // the editor is display: none
  return md.length > 0 && md.every(shown);
}"""
DIRTY_JS = "() => window.jupyterapp.shell.currentWidget.context.model.dirty"
DONE_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const ran = c => c.model.type !== "code" ||
    (c.model.executionCount !== null && !c.promptNode.textContent.includes("*"));
  return !!kernel && kernel.status === "idle" && w.content.widgets.every(ran);
}"""
ERRORS_JS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === "code")
  .flatMap(c => c.model.outputs.toJSON().filter(o => o.output_type === "error")
  .map(o => o.ename + ": " + o.evalue))"""
KEYS = ("ArrowRight", "ArrowLeft")
TEXT_JS = "() => window.jupyterapp.shell.currentWidget.content.node.innerText"
SHOWN_JS = """(box) => Array.from(box.querySelectorAll(".widget-html-content"))
  .filter(el => el.offsetParent !== null)
  .map(el => el.innerText + "|" + Array.from(el.querySelectorAll("img"))
  .map(i => i.src.slice(-60)).join(",")).join("\\n")"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(colab_notebooks: Path, tmp_path_factory) -> dict:
    """JupyterLab serving a copy of the notebooks branch, set up as binder/postBuild does."""
    root = tmp_path_factory.mktemp("binder-repo") / "repo"
    shutil.copytree(colab_notebooks, root)
    # What Binder runs in the image after installing binder/requirements.txt.
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    subprocess.run(["binder/postBuild"], cwd=root, check=True, env={**os.environ, "PATH": path})
    home = tmp_path_factory.mktemp("binder-home")
    settings = home / ".jupyter" / "labconfig" / "default_setting_overrides.json"
    settings.parent.mkdir(parents=True)
    # As binder/postBuild: jupytext opens .md as notebooks (here for the record: the notebooks
    # branch holds .ipynb files).
    subprocess.run(
        [str(BIN / "jupytext-config"), "--settings-file", str(settings), "set-default-viewer"],
        check=True,
    )
    overrides = json.loads(settings.read_text())
    # For the test only: render every cell, not only those near the viewport.
    overrides["@jupyterlab/notebook-extension:tracker"] = {"windowingMode": "none"}
    settings.write_text(json.dumps(overrides))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        # Binder installs vae and book; here the kernel imports this checkout's.
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "book" / "src")]),
    }
    log = home / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "jupyter-lab"),
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--LabApp.expose_app_in_browser=True",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "jupyter lab exited:\n" + log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no server after 120 s:\n" + log.read_text()
            time.sleep(0.5)
        yield {"base": base, "token": token, "root": root, "log": log}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def built(book_html: Path) -> BuiltBook:
    return BuiltBook.read(book_html.parent)


def shut_down_kernels(lab: dict) -> None:
    """End every session (and its kernel), as closing Binder's tab would, so that one
    chapter's kernel does not slow the next."""
    api = f"{lab['base']}/api/sessions"
    with urllib.request.urlopen(f"{api}?token={lab['token']}", timeout=30) as response:
        sessions = json.load(response)
    for session in sessions:
        url = f"{api}/{session['id']}?token={lab['token']}"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).close()


def binder_urlpath(book_html: Path, doc: str) -> str:
    """The ``urlpath`` of the chapter page's Binder button."""
    page = (book_html / f"{doc}.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="(https://mybinder\.org/v2/gh/[^"]+)"', page)
    assert hrefs, f"{doc}: no Binder button"
    (urlpath,) = {parse_qs(urlparse(h.replace("&amp;", "&")).query)["urlpath"][0] for h in hrefs}
    return urlpath


def expected(doc: str, built: BuiltBook, nb: nbformat.NotebookNode) -> dict[str, list[str]]:
    """What the page must show (numbers) and must not show (glue names, hidden code)."""
    visible = "\n".join(
        c.source for c in nb.cells if "remove-cell" not in c.metadata.get("tags", [])
    )
    hidden_lines = {
        line.strip()
        for c in nb.cells
        if "remove-cell" in c.metadata.get("tags", [])
        for line in c.source.splitlines()[1:]  # after the #@title line
        if len(line.strip()) > 12 and not line.strip().startswith("#")
    }
    source = (ROOT / f"{doc}.md").read_text(encoding="utf-8")
    numbers = [
        n
        for label, n in built.numbers.items()
        if built.targets[label][0] == doc and re.search(rf"\b{re.escape(label)}\b", source)
    ]
    cites = sorted(
        {
            label
            for key, (label, *_) in built.citations.items()
            if re.search(rf"\{{cite[:pt]*\}}`[^`]*\b{re.escape(key)}\b", source)
        }
    )
    glued = built.glued.get(doc, {})
    return {
        "values": sorted(set(glued.values())),
        "names": sorted(n for n in glued if "-" in n),
        "hidden": sorted(line for line in hidden_lines if line not in visible),
        "numbers": sorted(set(numbers)),
        "cites": cites,
    }


def check_page(text: str, want: dict[str, list[str]], when: str) -> list[str]:
    problems = [f"{when}: {what}: {m[0]!r}" for rx, what in RAW for m in [rx.search(text)] if m]
    flat = " ".join(text.split())
    shown = [n for n in want["names"] if n in flat]
    if shown:
        problems.append(
            f"{when}: {len(shown)} glue names shown, e.g. {shown[:3]}"
            + (
                " (printed by the hidden cells' glue calls: JupyterLab shows a cell's outputs"
                " again when it runs, so the glue function must not print where myst-nb is"
                " installed, as on Binder)"
                if when != "opened"
                else ""
            )
        )
    problems += [f"{when}: hidden code shown: {h!r}" for h in want["hidden"] if h in text]
    for kind in ("values", "numbers", "cites"):
        missing = [v for v in want[kind] if " ".join(v.split()) not in flat]
        if missing:
            problems.append(f"{when}: {kind} of the HTML missing: {missing}")
    return problems


@pytest.fixture(scope="module")
def tab(browser, lab):
    """One browser tab on JupyterLab for all chapters; ``fresh`` says whether the next chapter
    must load JupyterLab anew (the first one, and after a chapter ran and so was modified)."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    state = {"page": page, "fresh": True}
    yield state
    page.close()


OPEN_JS = """async (path) => {
  await window.jupyterapp.commands.execute("application:close-all");
  await window.jupyterapp.commands.execute("docmanager:open", {path});
}"""


@pytest.mark.parametrize("doc", CHAPTERS)
def test_binder_button_opens_the_chapter_as_the_html_shows_it(
    doc, lab, tab, book_html: Path, built: BuiltBook
):
    urlpath = binder_urlpath(book_html, doc)
    path = lab["root"] / urlpath.removeprefix("lab/tree/")
    assert path.is_file(), f"the Binder button opens {urlpath}, not in the notebooks branch"
    stored = path.read_bytes()
    nb = nbformat.reads(stored.decode(), as_version=4)
    want = expected(doc, built, nb)
    page = tab["page"]
    try:
        start = time.monotonic()
        if tab["fresh"]:
            # The Binder button's address; ?reset: a fresh workspace, as a first visit.
            page.goto(f"{lab['base']}/{urlpath}?reset&token={lab['token']}")
        else:  # the same document, opened in the JupyterLab already loaded (faster)
            page.evaluate(OPEN_JS, urlpath.removeprefix("lab/tree/"))
        tab["fresh"] = False
        page.wait_for_function(READY_JS, polling=250)
        opened = time.monotonic() - start
        page.wait_for_timeout(1500)  # any autosave
        problems = check_page(page.evaluate(TEXT_JS), want, "opened")
        assert not page.evaluate(DIRTY_JS), f"{doc}: opening marks the notebook modified"
        assert path.read_bytes() == stored, f"{doc}: opening rewrote {path.name}"
        if WIDGET_VIEW in (book_html / f"{doc}.html").read_text(encoding="utf-8"):
            tab["fresh"] = True
            problems += run_all_and_use_explorers(page, doc, want, book_html)
        took = time.monotonic() - start
        print(f"{doc}: rendered {opened:.1f} s after opening; checked in {took:.1f} s")
        assert not problems, f"{doc} in Binder's JupyterLab:\n" + "\n".join(problems)
    except Exception:
        tab["fresh"] = True
        raise
    finally:
        shut_down_kernels(lab)


def run_all_and_use_explorers(page, doc: str, want, book_html: Path) -> list[str]:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(DONE_JS, timeout=240_000, polling=500)
    errors = page.evaluate(ERRORS_JS)
    if errors:
        return [f"after Run all: cell errors {errors}"]
    problems = check_page(page.evaluate(TEXT_JS), want, "after Run all")
    views = (book_html / f"{doc}.html").read_text(encoding="utf-8").count(WIDGET_VIEW)
    page.wait_for_selector(".vae-explorer .widget-slider, .vae-explorer .widget-toggle-button")
    boxes = page.query_selector_all(".vae-explorer")
    if len(boxes) != views:
        problems.append(f"{len(boxes)} explorers render, the HTML embeds {views} widget views")
    for i, box in enumerate(boxes):
        before = page.evaluate(SHOWN_JS, box)
        if not before.strip():
            problems.append(f"explorer {i} shows nothing")
            continue
        handle = box.query_selector(".widget-slider .noUi-handle, .widget-slider input")
        if handle is None:  # an explorer of toggle buttons only: pick another one
            buttons = box.query_selector_all(".widget-toggle-button:not(.mod-active)")
            moves = [lambda b=buttons[0]: b.click()] if buttons else []
        else:  # an explorer may open at either end of its slider
            moves = [lambda k=k, h=handle: (h.focus(), page.keyboard.press(k)) for k in KEYS]
        changed = False
        for move in moves:
            move()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and page.evaluate(SHOWN_JS, box) == before:
                page.wait_for_timeout(100)
            if page.evaluate(SHOWN_JS, box) != before:
                changed = True
                break
        if not changed:
            problems.append(f"explorer {i}: its control moved, what it shows did not change")
    return problems
