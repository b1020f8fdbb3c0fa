"""LRBOOK_STANDIN_SEED:
the robustness benchmark draws other stand-ins beside the book's.
"""

from __future__ import annotations

import functools
import json

import pytest

from lrlib.data import _standin as handpose
from lrlib.data.rps import STANDIN_SEED_ENV, get_rps


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(
        handpose,
        "ensure_handpose",
        functools.partial(handpose.ensure_handpose, images_per_hand=1, processes=1),
    )


def marker_seed(folders) -> int:
    return json.loads((folders.train.parent / handpose.MARKER_FILE).read_text())["seed"]


def test_default_seed_and_folder(monkeypatch, tmp_path, small):
    monkeypatch.delenv(STANDIN_SEED_ENV, raising=False)
    folders = get_rps("synthetic", tmp_path)
    assert folders.train.parent.name == "rps-synthetic"
    assert marker_seed(folders) == handpose.DEFAULT_SEED


def test_another_seed_draws_its_own_folder(monkeypatch, tmp_path, small):
    monkeypatch.setenv(STANDIN_SEED_ENV, "5")
    folders = get_rps("synthetic", tmp_path)
    assert folders.train.parent.name == "rps-synthetic-seed5"
    assert marker_seed(folders) == 5
    # the argument wins over the variable
    assert (
        get_rps("synthetic", tmp_path, seed=handpose.DEFAULT_SEED).train.parent.name
        == "rps-synthetic"
    )


@pytest.mark.parametrize("raw", ["-3", "five", str(2**32)])
def test_a_bad_seed_names_the_variable(monkeypatch, tmp_path, raw):
    monkeypatch.setenv(STANDIN_SEED_ENV, raw)
    with pytest.raises(ValueError, match="LRBOOK_STANDIN_SEED must be an integer"):
        get_rps("synthetic", tmp_path)
