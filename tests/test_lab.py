"""``make lab``: JupyterLab from the project's venv opens every chapter as a notebook.

Starts the target itself on localhost (no browser, a random token), then asks the server:
its contents API returns each chapter ``.md`` as a notebook (jupytext's contents manager),
the settings API gives jupytext's notebook view as the default viewer of Markdown files,
the page loads the jupyterlab-myst and widgets extensions, and the kernel is this venv's
Python (where ``vae`` is installed). Marked ``lab``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(
    p for p in (ROOT / "chapters").glob("*.md") if p.read_text().startswith("---\njupytext:")
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``make lab`` on a free localhost port; yields ``get(path) -> (status, body)``."""
    port, token = free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("home")  # no user settings of whoever runs the tests
    args = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
        f"--ServerApp.port_retries=0 --IdentityProvider.token={token} "
        f"--ServerApp.root_dir={ROOT}"
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    log = tmp_path_factory.mktemp("lab-log") / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "-s", "lab", f"LAB_ARGS={args}", f"PYTHON={sys.executable}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and jupyter stop together
        )

    def get(path: str) -> tuple[int, str]:
        sep = "&" if "?" in path else "?"
        url = f"http://127.0.0.1:{port}{path}{sep}token={token}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "make lab exited:\n" + log.read_text()[-3000:]
            try:
                if get("/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no server after 120 s:\n" + log.read_text()
            time.sleep(0.5)
        yield get
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.lab
def test_make_lab_opens_every_chapter_as_a_notebook(lab):
    for chapter in CHAPTERS:
        status, body = lab(f"/api/contents/chapters/{chapter.name}?content=1")
        assert status == 200, body[:500]
        model = json.loads(body)
        assert model["type"] == "notebook", (chapter.name, model["type"])
        cells = model["content"]["cells"]
        assert any(c["cell_type"] == "code" for c in cells)
        assert any(c["cell_type"] == "markdown" for c in cells)


@pytest.mark.lab
def test_make_lab_views_markdown_as_jupytext_notebooks_with_myst_and_widgets(lab):
    status, body = lab("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    assert status == 200, body[:500]
    viewers = json.loads(body)["schema"]["properties"]["defaultViewers"]["default"]
    assert viewers.get("markdown") == "Jupytext Notebook", viewers
    assert viewers.get("myst") == "Jupytext Notebook", viewers
    status, page = lab("/lab")
    assert status == 200
    assert "jupyterlab-myst" in page and "@jupyter-widgets/jupyterlab-manager" in page


@pytest.mark.lab
def test_make_lab_kernel_is_the_venv_python_with_vae(lab):
    status, body = lab("/api/kernelspecs")
    assert status == 200
    specs = json.loads(body)
    python = Path(specs["kernelspecs"][specs["default"]]["spec"]["argv"][0])
    if not python.is_absolute():  # "python": the server's own environment
        python = Path(sys.executable)
    out = subprocess.run(
        [str(python), "-c", "import vae, ipywidgets, sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).resolve() == Path(sys.prefix).resolve()
