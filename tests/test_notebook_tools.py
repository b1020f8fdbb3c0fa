"""tools.notebooks.execute_many: one failing notebook does not stop the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import notebooks


def test_a_failure_is_reported_and_raised_after_the_others_ran(monkeypatch):
    ran = []

    def fake_execute(path: Path, *, write: bool) -> float:
        ran.append(path.stem)
        if path.stem == "bad":
            raise ValueError("boom")
        return 1.0

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    reported, broken = [], []
    paths = [Path("a.ipynb"), Path("bad.ipynb"), Path("c.ipynb")]
    with pytest.raises(RuntimeError, match="bad.ipynb failed to execute \\(1 notebook"):
        notebooks.execute_many(
            paths,
            write=False,
            jobs=1,
            report=lambda p, s: reported.append(p.stem),
            report_error=lambda p, e: broken.append((p.stem, str(e))),
        )
    assert sorted(ran) == ["a", "bad", "c"]
    assert sorted(reported) == ["a", "c"] and broken == [("bad", "boom")]
