"""Where the book is published: its GitHub repository, branches and addresses, parsed once.

The repository (``OWNER/REPO``) is ``$GITHUB_REPOSITORY`` when set (a GitHub Actions run, so a
fork publishes a book and notebooks that lead to the fork), else ``repository.url`` of
``_config.yml``. The generated notebooks live on the branch ``notebooks_branch`` (Sphinx config
value ``colab_branch``, default ``notebooks``): Colab and Binder both open them there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import yaml

ROOT = Path(__file__).resolve().parents[3]  # the checkout (book/ is installed editable)
COLAB = "https://colab.research.google.com"
BINDER = "https://mybinder.org"
_GITHUB = re.compile(
    r"^(?:https?://github\.com/)?(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$"
)


def parse(url_or_org_repo: str) -> tuple[str, str]:
    """``(owner, name)`` of ``https://github.com/OWNER/REPO[.git]`` or ``OWNER/REPO``."""
    m = _GITHUB.match(url_or_org_repo.strip())
    if m is None:
        raise ValueError(f"not a GitHub repository (OWNER/REPO or its URL): {url_or_org_repo!r}")
    return m["owner"], m["name"]


@dataclass(frozen=True)
class Repository:
    """The book's repository; ``branch`` holds the sources, ``notebooks_branch`` the notebooks."""

    owner: str
    name: str
    branch: str = "main"
    notebooks_branch: str = "notebooks"

    @classmethod
    def from_config(
        cls,
        config: Path | Mapping = ROOT / "_config.yml",
        org_repo: str | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> Repository:
        """From ``_config.yml`` (a path or its parsed mapping); ``org_repo``, else
        ``$GITHUB_REPOSITORY``, overrides ``repository.url``."""
        settings: Mapping = (
            config
            if isinstance(config, Mapping)
            else yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        )
        repo = settings.get("repository", {})
        source = org_repo or environ.get("GITHUB_REPOSITORY") or repo.get("url", "")
        owner, name = parse(source)
        sphinx = settings.get("sphinx", {}).get("config", {})
        return cls(
            owner,
            name,
            branch=repo.get("branch", "main"),
            notebooks_branch=sphinx.get("colab_branch", "notebooks"),
        )

    @property
    def org_repo(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def url(self) -> str:
        return f"https://github.com/{self.org_repo}"

    @property
    def pages(self) -> str:
        """The GitHub Pages address of the HTML book."""
        return f"https://{self.owner.lower()}.github.io/{self.name}"

    def page_url(self, docname: str, anchor: str = "") -> str:
        """The published HTML page of a Sphinx docname (``chapters/03-elbo``)."""
        return f"{self.pages}/{docname}.html" + (f"#{anchor}" if anchor else "")

    def raw_url(self, path: str) -> str:
        """A file on the notebooks branch, as a browser fetches it (figures)."""
        return f"https://raw.githubusercontent.com/{self.org_repo}/{self.notebooks_branch}/{path}"

    def package_source(self, ref: str | None = None) -> str:
        """What pip installs ``vae`` from: the repository at ``ref`` (default ``branch``)."""
        return f"git+{self.url}@{ref or self.branch}"

    def colab_url(self, docname: str) -> str:
        """Colab opening the generated notebook of a chapter."""
        return f"{COLAB}/github/{self.org_repo}/blob/{self.notebooks_branch}/{docname}.ipynb"

    def binder_url(self, docname: str) -> str:
        """Binder (JupyterLab) opening the generated notebook of a chapter."""
        path = quote(f"lab/tree/{docname}.ipynb", safe="/")
        return f"{BINDER}/v2/gh/{self.org_repo}/{self.notebooks_branch}?urlpath={path}"
