"""book.glue (book/numbers.py): numbers reach the HTML through myst-nb, a live reader by print."""

from __future__ import annotations

import sys
import types

import pytest

from book.numbers import MINUS, as_text, glue


def fake_myst_nb(calls: list) -> types.ModuleType:
    module = types.ModuleType("myst_nb")
    module.glue = lambda name, value, display=True: calls.append((name, value, display))
    return module


def test_one_call_stores_every_value_for_the_book_and_prints_nothing(monkeypatch, capsys):
    calls: list = []
    monkeypatch.setitem(sys.modules, "myst_nb", fake_myst_nb(calls))
    glue({"elbo-gap": "0.125", "n": 3})
    assert calls == [("elbo-gap", "0.125", False), ("n", "3", False)]
    assert capsys.readouterr().out == ""  # Binder's notebooks have the numbers in the prose


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
