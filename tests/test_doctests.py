"""Every docstring example of lrlib runs (and passes).

Examples that need a data set, a trained model, a GPU or a second process are
marked ``# doctest: +SKIP`` where they stand, with the reason in a comment
above them.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import torch

import lrlib
from lrlib._states import capture_rng_state, restore_rng_state

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(lrlib.__path__, prefix="lrlib.")
)

ENVIRONMENT = (
    "LRBOOK_CLAIMS_LOG",
    "LRBOOK_SEED_SHIFT",
    "LRLIB_DEVICE",
    "LRLIB_REQUIRE_CUDA",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    for variable in ENVIRONMENT:  # the examples show the defaults
        monkeypatch.delenv(variable, raising=False)
    module = importlib.import_module(name)
    # The examples seed and draw: leave no trace for other tests.
    rng_state = capture_rng_state()
    threads = torch.get_num_threads()
    try:
        outcome = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        )
    finally:
        restore_rng_state(rng_state)
        torch.set_num_threads(threads)
    assert outcome.failed == 0


def test_the_examples_are_found():
    finder = doctest.DocTestFinder()
    examples = 0
    for name in MODULES:
        examples += sum(
            len(t.examples) for t in finder.find(importlib.import_module(name))
        )
    assert examples > 300
