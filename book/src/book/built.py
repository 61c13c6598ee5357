"""What a built book shows, read from the build's own data (not from its HTML).

* Sphinx's environment (``_build/.doctrees/environment.pickle``): which page defines each
  label, the numbers Sphinx gave figures, equations and exercises (``numfig``), page titles,
  and sphinxcontrib-bibtex's citation labels (``[KW13]``).
* myst-nb's glue data (``_build/jupyter_execute/chapters/<chapter>.glue.json``): the glued
  values of each chapter, what ``{glue:text}`` pastes;
* the build's jupyter-cache (``_build/.jupyter_cache``, ``execute_notebooks: cache``): the
  outputs of every cell as the book executed it.

Reading the pickle needs the packages that built the book (Sphinx and its extensions).
"""

from __future__ import annotations

import ast
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_cache import get_cache  # type: ignore[import-untyped]

# How Sphinx and sphinx-exercise show a number (numfig_format defaults; sphinx-exercise).
FORMATS = {"figure": "Fig. {}", "displaymath": "({})", "exercise": "Exercise {}"}


def glued_values(outputs: list[dict[str, Any]]) -> dict[str, str]:
    """``name -> text`` of myst-nb glue outputs, as ``{glue:text}`` shows them."""
    values = {}
    for output in outputs:
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


@dataclass
class BuiltBook:
    """Labels, numbers, titles, citations and glued values of one build (``_build``)."""

    build: Path
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (doc, id)
    numbers: dict[str, str] = field(default_factory=dict)  # label -> "Fig. 3.2", "(3.1)"
    names: dict[str, str] = field(default_factory=dict)  # section label -> its title
    titles: dict[str, str] = field(default_factory=dict)  # docname -> title
    citations: dict[str, tuple[str, str, str]] = field(
        default_factory=dict
    )  # key -> label, doc, id
    glued: dict[str, dict[str, str]] = field(default_factory=dict)  # chapter -> name -> text

    @classmethod
    def read(cls, build: Path) -> BuiltBook:
        pickled = build / ".doctrees" / "environment.pickle"
        if not pickled.is_file():
            raise FileNotFoundError(f"no built book in {build} (no {pickled}): run `make book`")
        with pickled.open("rb") as f:
            env = pickle.load(f)
        book = cls(build)
        std = env.domaindata["std"]
        for label, (doc, anchor, name) in std["labels"].items():
            book.targets[label] = (doc, anchor)
            book.names[label] = name
        for label, (doc, anchor) in std["anonlabels"].items():
            book.targets.setdefault(label, (doc, anchor))
        for label, (doc, *_) in env.domaindata["math"]["objects"].items():
            book.targets.setdefault(label, (doc, f"equation-{label}"))
        for doc, kinds in env.toc_fignumbers.items():
            for kind, ids in kinds.items():
                if kind not in FORMATS:
                    continue
                fmt = FORMATS[kind]
                for node_id, number in ids.items():
                    label = node_id.removeprefix("equation-")
                    book.numbers[label] = fmt.format(".".join(map(str, number)))
                    book.targets.setdefault(label, (doc, node_id))
        book.titles = {doc: title.astext() for doc, title in env.titles.items()}
        for citation in env.domaindata["cite"]["citations"]:
            doc = citation.bibliography_key.docname
            book.citations[citation.key] = (
                citation.formatted_entry.label,
                doc,
                citation.citation_id,
            )
        executed = build / "jupyter_execute"
        for path in sorted(executed.glob("**/*.glue.json")):
            outputs = json.loads(path.read_text(encoding="utf-8"))
            doc = path.relative_to(executed).as_posix().removesuffix(".glue.json")
            book.glued[doc] = glued_values(list(outputs.values()))
        return book

    def executed(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        """``nb`` with the outputs of its execution for this build, from the build's
        jupyter-cache (where myst-nb keeps them; its ``jupyter_execute`` copies lack them)."""
        cache = get_cache(self.build / ".jupyter_cache")
        try:
            return cache.merge_match_into_notebook(nb)[1]
        except KeyError:
            raise LookupError(
                f"{self.build} holds no execution of this code: rebuild the book (make book)"
            ) from None
