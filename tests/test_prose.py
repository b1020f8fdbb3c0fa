from __future__ import annotations

import builtins
import sys

import pytest

from lrlib.prose import glue


def test_returns_value_and_publishes_it(monkeypatch):
    published = []
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: published.append((name, value, display)))
    assert glue("best_lr", 0.003) == 0.003
    assert published == [("best_lr", 0.003, False)]


def test_works_without_myst_nb(monkeypatch):
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError("no myst_nb here")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "myst_nb", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_myst)
    assert glue("x", 5) == 5


@pytest.mark.parametrize("bad", ["", "has space", "dot.name", "brace{"])
def test_rejects_names_myst_cannot_reference(bad):
    with pytest.raises(ValueError, match="glue name"):
        glue(bad, 1)
