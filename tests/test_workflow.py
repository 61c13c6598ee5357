"""The publishing workflow: valid for GitHub Actions (actionlint), and the README's commands.

``.github/workflows/publish.yml`` builds the book and the Colab notebooks with the README's
own commands, deploys ``_build/html`` to GitHub Pages and pushes ``_build/notebooks`` to the
branch the Colab button names, with the repository taken from ``GITHUB_REPOSITORY`` (never
typed in). That a build for another repository links only into it is checked on the test
build in ``tests/test_launch.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PUBLISH = ROOT / ".github" / "workflows" / "publish.yml"


def actionlint() -> str:
    found = Path(sys.executable).parent / "actionlint"
    return str(found) if found.exists() else (shutil.which("actionlint") or "actionlint")


def test_workflows_pass_actionlint():
    assert PUBLISH in WORKFLOWS
    proc = subprocess.run(
        [actionlint(), "-no-color", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_publish_runs_the_readme_commands_and_deploys_pages_and_notebooks():
    flow = yaml.safe_load(PUBLISH.read_text())
    on = flow.get(True, flow.get("on"))  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"]
    build = flow["jobs"]["build"]
    runs = [s["run"] for s in steps(build) if "run" in s]
    uses = [
        s["uses"].split("@")[0] for job in flow["jobs"].values() for s in steps(job) if "uses" in s
    ]
    readme = (ROOT / "README.md").read_text()
    # The README's commands, in its order: the book, then the notebooks from it.
    for command in ("make book", "make notebooks"):
        assert f"{command}" in readme, f"README does not say `{command}`"
    book = next(i for i, r in enumerate(runs) if r.strip() == "make book")
    notebooks = next(i for i, r in enumerate(runs) if r.strip() == "make notebooks")
    assert book < notebooks
    # The notebooks go to the branch the Colab and Binder buttons open (book.notebooks reads
    # _config.yml).
    publish = runs[notebooks + 1]
    assert "python -m book.notebooks --print-branch" in publish
    assert re.search(r'ghp-import .*-b "\$branch".* _build/notebooks', publish, re.S)
    assert "ghp-import" in readme and "_build/notebooks" in readme
    # _build/html to GitHub Pages.
    artifact = next(s for s in steps(build) if s.get("uses", "").startswith("actions/upload-pages"))
    assert artifact["with"]["path"] == "_build/html"
    assert "actions/deploy-pages" in uses and flow["jobs"]["deploy"]["needs"] == "build"
    assert flow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert build["permissions"] == {"contents": "write"}
    # The repository is the one the workflow runs in: nothing overrides GITHUB_REPOSITORY and
    # no repository URL is typed into the workflow.
    code = [line for line in PUBLISH.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not any("GITHUB_REPOSITORY:" in line or "github.com/" in line for line in code)
