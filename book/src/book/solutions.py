"""Sphinx extension (local, see ``_config.yml``): a build without the exercises' solutions.

``VAE_SOLUTIONS=0`` in the environment (``make book SOLUTIONS=0``) turns on sphinx-exercise's
documented ``hide_solutions`` option, which drops every ``solution`` directive from the pages
(the exercises stay, numbered as before): a book to hand out with assignments. Any other value,
or none, builds the book with its solutions.
"""

from __future__ import annotations

import os

from sphinx.application import Sphinx
from sphinx.config import Config

ENV = "VAE_SOLUTIONS"


def _config_inited(app: Sphinx, config: Config) -> None:
    if os.environ.get(ENV, "1").strip() == "0":
        config.hide_solutions = True


def setup(app: Sphinx) -> dict:
    # after sphinx_exercise has declared `hide_solutions` (extensions load in order)
    app.connect("config-inited", _config_inited, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
