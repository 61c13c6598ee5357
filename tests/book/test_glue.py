"""vae.glue: the book's numbers reach the HTML through myst-nb and a live reader through print."""

from __future__ import annotations

import sys
import types

import pytest

from vae.glue import glue


def fake_myst_nb(calls: list) -> types.ModuleType:
    module = types.ModuleType("myst_nb")
    module.glue = lambda name, value, display=True: calls.append((name, value, display))
    return module


def test_glue_stores_the_value_for_the_book_and_prints_it_for_a_live_reader(monkeypatch, capsys):
    calls: list = []
    monkeypatch.setitem(sys.modules, "myst_nb", fake_myst_nb(calls))
    glue("elbo-gap", "0.125", display=False)
    assert calls == [("elbo-gap", "0.125", False)]
    assert capsys.readouterr().out == "elbo-gap = 0.125\n"


def test_glue_with_display_leaves_the_showing_to_myst_nb(monkeypatch, capsys):
    calls: list = []
    monkeypatch.setitem(sys.modules, "myst_nb", fake_myst_nb(calls))
    glue("n", 3, display=True)
    assert calls == [("n", 3, True)] and capsys.readouterr().out == ""


def test_glue_without_myst_nb_only_prints(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import raises ImportError (plain Colab)
    glue("lvm-ll-m1", "-180.3", display=False)
    glue("n", 3, display=True)
    assert capsys.readouterr().out == "lvm-ll-m1 = -180.3\nn = 3\n"


@pytest.mark.parametrize("name", ["", "two words", "tab\tname"])
def test_glue_rejects_names_a_role_cannot_paste(name):
    with pytest.raises(ValueError, match="glue name"):
        glue(name, 1.0)
