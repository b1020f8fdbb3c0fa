"""The site's listings of lrlib drop docstrings (book/_ext/lrbook_listing.py)."""

from __future__ import annotations

import doctest
import inspect
import sys

from tools.bookconfig import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import lrbook_listing  # noqa: E402

from lrlib.training import Trainer  # noqa: E402


def test_examples_run() -> None:
    assert doctest.testmod(lrbook_listing).failed == 0


def test_a_method_listing_keeps_its_code_and_loses_its_docstring() -> None:
    source = inspect.getsource(Trainer.train_one_epoch)
    listed = lrbook_listing.without_docstrings(source)
    assert '"""' not in listed
    assert "def train_one_epoch" in listed and "self.optimizer.step()" in listed
    code = [line for line in source.splitlines() if line.strip()]
    assert len([line for line in listed.splitlines() if line.strip()]) < len(code)


def test_a_body_that_is_only_a_docstring_is_kept() -> None:
    source = 'def f():\n    """Only this."""\n'
    assert lrbook_listing.without_docstrings(source) == source
