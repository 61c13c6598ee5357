"""book.glue (book/numbers.py): numbers reach the HTML through myst-nb, a live reader by print."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import IPython.display
import pytest

from book.numbers import GLUE_PREFIX, MINUS, as_text, glue


def capture_displays(monkeypatch, module, attribute: str) -> list:
    """Replace ``module.attribute`` (a display function) by one that records its calls."""
    calls: list = []
    monkeypatch.setattr(module, attribute, lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


def test_one_call_stores_every_value_for_the_book_and_prints_nothing(monkeypatch, capsys):
    calls = capture_displays(monkeypatch, IPython.display, "display")
    glue({"elbo-gap": "0.125", "n": -3})
    assert [(args[0], kwargs["metadata"]["scrapbook"]) for args, kwargs in calls] == [
        ({GLUE_PREFIX + "text/plain": "'0.125'"}, {"name": "elbo-gap", "mime_prefix": GLUE_PREFIX}),
        ({GLUE_PREFIX + "text/plain": f"'{MINUS}3'"}, {"name": "n", "mime_prefix": GLUE_PREFIX}),
    ]
    assert capsys.readouterr().out == ""  # Binder's notebooks have the numbers in the prose


@pytest.mark.parametrize("value", ["0.125", f"{MINUS}180.3", "3-4 epochs", True, [1, 2]])
def test_a_stored_value_is_the_output_myst_nbs_own_glue_writes(monkeypatch, value):
    import myst_nb.ext.glue

    ours = capture_displays(monkeypatch, IPython.display, "display")
    theirs = capture_displays(monkeypatch, myst_nb.ext.glue, "ipy_display")
    glue({"a-name": value})
    myst_nb.ext.glue.glue("a-name", value, display=False)
    assert len(ours) == 1
    assert ours == theirs  # bundle, raw=True and metadata, as {glue:text} reads them


def test_glue_does_not_import_myst_nbs_glue_or_nbformat():
    # myst_nb.ext.glue imports nbformat -> jsonschema -> rfc3987_syntax: ~1.4 s per chapter
    code = textwrap.dedent(
        """
        import sys
        import book.numbers
        book.numbers.glue({"x": "1.5"})
        print(sorted(m for m in ("myst_nb", "nbformat", "jsonschema") if m in sys.modules))
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines()[-1] == "[]"


def test_without_myst_nb_glue_only_prints(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import raises ImportError (plain Colab)
    glue({"lvm-ll-m1": "-180.3"})
    assert capsys.readouterr().out == f"lvm-ll-m1 = {MINUS}180.3\n"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("-180.3", f"{MINUS}180.3"),
        (-2, f"{MINUS}2"),
        (-0.5, f"{MINUS}0.5"),
        ("from -3.1 to -.5 nats", f"from {MINUS}3.1 to {MINUS}.5 nats"),
        ("1e-05", "1e-05"),  # an exponent's sign stays
        ("3-4 epochs", "3-4 epochs"),  # a range stays
        ("2-D", "2-D"),
        (True, True),
    ],
)
def test_a_numbers_minus_sign_becomes_the_true_minus(value, shown):
    assert as_text(value) == shown


@pytest.mark.parametrize("name", ["", "two words", "tab\tname"])
def test_glue_rejects_names_a_role_cannot_paste(name):
    with pytest.raises(ValueError, match="glue name"):
        glue({name: 1.0})
