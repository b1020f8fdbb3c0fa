"""`python -m tools.notebooks execute`: what `make execute` passes it."""

from __future__ import annotations

import pytest

from tools import notebooks
from tools.bookconfig import ROOT


@pytest.mark.parametrize(
    "argv",
    [
        ["execute", "--jobs", "1", "book/00_getting_started.ipynb"],
        ["execute", "book/00_getting_started.ipynb", "-j", "1"],
    ],
)
def test_jobs_may_come_before_or_after_the_notebooks(argv, monkeypatch, capsys):
    calls = []
    monkeypatch.delenv(notebooks.DATA_SOURCE_ENV, raising=False)
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(
        notebooks, "execute_many", lambda paths, **kw: calls.append((paths, kw))
    )
    assert notebooks.main(argv) == 0
    ((paths, kw),) = calls
    assert paths == [ROOT / "book" / "00_getting_started.ipynb"]
    assert kw["jobs"] == 1 and kw["write"] is True


def test_an_unknown_command_is_refused(capsys):
    with pytest.raises(SystemExit):
        notebooks.main(["run"])
    assert "invalid choice: 'run'" in capsys.readouterr().err
