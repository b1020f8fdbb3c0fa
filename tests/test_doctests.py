"""The docstring examples of lrlib's modules run (and pass)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["lrlib.claims", "lrlib.numerics", "lrlib.seeding", "lrlib.tables"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.delenv("LRBOOK_CLAIMS_LOG", raising=False)
    monkeypatch.delenv("LRBOOK_SEED_SHIFT", raising=False)
    module = importlib.import_module(name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert outcome.attempted > 0, f"{name} has no docstring example"
    assert outcome.failed == 0
