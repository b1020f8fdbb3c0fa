from __future__ import annotations

import builtins
import sys

import pytest

from lrlib.book.prose import glue


def test_returns_value_and_publishes_it(monkeypatch):
    published = []
    import myst_nb

    monkeypatch.setattr(
        myst_nb,
        "glue",
        lambda name, value, display: published.append((name, value, display)),
    )
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


def _recorded_text(monkeypatch, value):
    """The text/plain myst-nb would store for ``value`` (what {glue:text} pastes)."""
    import myst_nb
    from IPython.core.formatters import PlainTextFormatter

    published = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, v, display: published.append(v))
    returned = glue("v", value)
    assert returned is value  # the caller keeps its own object
    return PlainTextFormatter()(published[0]), published[0]


def test_strings_are_recorded_without_quotes(monkeypatch):
    text, _ = _recorded_text(monkeypatch, "one-cycle")
    assert text == "one-cycle"


def test_numpy_and_tensor_scalars_become_python_numbers(monkeypatch):
    import numpy as np
    import torch

    for value, expected in [
        (np.float64(0.25), 0.25),
        (np.int64(7), 7),
        (torch.tensor(1.5), 1.5),
        (np.array(3.0), 3.0),
    ]:
        text, recorded = _recorded_text(monkeypatch, value)
        assert type(recorded) in (int, float) and recorded == expected
        assert format(recorded, ".2f") == f"{expected:.2f}"
        assert "np." not in text and "tensor" not in text


def test_arrays_pass_through(monkeypatch):
    import numpy as np

    values = np.array([1.0, 2.0])
    _, recorded = _recorded_text(monkeypatch, values)
    assert recorded is values
