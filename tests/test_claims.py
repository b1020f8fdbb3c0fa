"""lrlib.book.claims: a claim raises when it fails in the book's runs, is
recorded for the robustness benchmark, and is a note in a reader's run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lrlib.book import claims as claims_module
from lrlib.book.claims import (
    BOOK_RUN_PREFIX,
    CLAIMS_LOG_ENV,
    CLAIMS_MODE_ENV,
    ClaimFailed,
    ClaimNote,
    ClaimNotHeld,
    claim,
    read_claims_log,
    remember_book_run,
)
from tools.bookconfig import ROOT
from tools.notebooks import apply_regression_env


@pytest.fixture(autouse=True)
def no_log(monkeypatch):
    monkeypatch.delenv(CLAIMS_LOG_ENV, raising=False)


def test_a_claim_that_holds_is_silent():
    assert claim("one is less than two", 1 < 2, one=1, two=2) is None


def test_a_failed_claim_raises_with_its_evidence():
    with pytest.raises(
        ClaimFailed, match=r"dropout helps \(dropout=0\.8, plain=0\.9\)"
    ):
        claim("dropout helps", 0.8 > 0.9, dropout=0.8, plain=0.9)
    assert issubclass(ClaimFailed, AssertionError)


def test_numpy_and_tensor_truth_values_and_numbers():
    claim("numpy bool", np.bool_(True), value=np.float32(0.5))
    with pytest.raises(ClaimFailed, match="value=0.25"):
        claim("tensor bool", torch.tensor(False), value=torch.tensor(0.25))


def test_bad_statement_or_evidence_is_refused():
    with pytest.raises(ValueError, match="non-empty string"):
        claim("  ", True)
    with pytest.raises(TypeError, match="evidence x= must be a real number, got str"):
        claim("something", True, x="high")


def test_with_a_log_claims_are_recorded_and_never_raise(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(CLAIMS_LOG_ENV, str(log))
    claim("holds", True, a=1.5)
    claim("fails", False, b=float("nan"))
    records = read_claims_log(log)
    assert [r["statement"] for r in records] == ["holds", "fails"]
    assert [r["held"] for r in records] == [True, False]
    assert records[0]["numbers"] == {"a": 1.5} and np.isnan(records[1]["numbers"]["b"])


def test_reading_a_missing_or_foreign_log(tmp_path):
    assert read_claims_log(tmp_path / "absent.jsonl") == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"statement": "x"}\n')
    with pytest.raises(ValueError, match="line 1: not a claim record"):
        read_claims_log(bad)


# -- who runs the notebook decides what a failed claim does ---------------------


@pytest.fixture
def reader(monkeypatch):
    """A reader's run: no variable set (Colab, a local Jupyter)."""
    monkeypatch.delenv(CLAIMS_MODE_ENV, raising=False)
    monkeypatch.setattr(claims_module, "_book_run", {})
    # Outside a kernel (a script): the note is a warning. Another test in the
    # same worker may have started an IPython shell, which would count as one.
    monkeypatch.setattr(claims_module, "_in_a_kernel", lambda: False)


@pytest.fixture
def strict(monkeypatch):
    """The book's own runs: the test command, make execute, make site."""
    monkeypatch.setenv(CLAIMS_MODE_ENV, "strict")


def test_the_book_s_runs_are_strict(strict):
    with pytest.raises(ClaimFailed, match=r"one beats two \(one=1, two=2\)"):
        claim("one beats two", False, one=1, two=2)


def test_the_commands_that_run_the_book_set_strict_mode():
    env: dict[str, str] = {}
    apply_regression_env(env)
    assert env[CLAIMS_MODE_ENV] == "strict"
    env = {CLAIMS_MODE_ENV: ""}
    apply_regression_env(env, caller_data=True)
    assert env[CLAIMS_MODE_ENV] == "strict"


def test_a_reader_gets_a_note_and_the_run_goes_on(reader):
    with pytest.warns(ClaimNotHeld) as caught:
        assert claim("dropout helps", False, dropout=0.8, plain=0.9) is None
    message = str(caught[0].message)
    assert message.startswith("On this run the book's claim “dropout helps” did not")
    assert "dropout=0.8, plain=0.9" in message
    assert "the book's run held it" in message
    # the evidence is still checked in a reader's run
    with pytest.raises(TypeError, match="evidence x= must be a real number"):
        claim("something", False, x="high")


def test_a_note_shows_the_book_s_numbers_when_the_copy_remembered_them(reader):
    remember_book_run({"dropout helps": {"dropout": np.float32(0.75), "plain": 0.5}})
    with pytest.warns(ClaimNotHeld, match="the book's run got dropout=0.75, plain=0.5"):
        claim("dropout helps", False, dropout=0.8, plain=0.9)
    with pytest.raises(TypeError, match="must be a real number"):
        remember_book_run({"dropout helps": {"dropout": "high"}})
    with pytest.raises(ValueError, match="non-empty string"):
        remember_book_run({"": {}})


def test_in_a_kernel_a_note_is_displayed_as_markdown(reader, monkeypatch):
    shown = []
    monkeypatch.setattr(claims_module, "_in_a_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", shown.append)
    claim("one beats two", False, one=1, two=2)
    (note,) = shown
    assert isinstance(note, ClaimNote)
    assert note._repr_markdown_().startswith("> **Note.** On this run the book's")


def test_a_claim_that_holds_is_recorded_for_the_reader_s_copy(strict, monkeypatch):
    glued = []
    monkeypatch.setattr(claims_module, "_in_a_kernel", lambda: True)
    monkeypatch.setattr(
        "lrlib.book.prose.glue", lambda name, value: glued.append((name, value))
    )
    claim("one is less than two", True, one=1, two=2)
    claim("one is less than two", True, one=1, two=2)
    (first, record), (second, _) = glued
    assert first.startswith(BOOK_RUN_PREFIX) and first != second
    assert json.loads(record) == {
        "statement": "one is less than two",
        "numbers": {"one": 1.0, "two": 2.0},
    }


def test_in_a_reader_s_kernel_a_failed_claim_is_a_note_and_the_cells_go_on(
    tmp_path, monkeypatch
):
    """The whole path, in a real kernel: a reader following a chapter's prompt."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    monkeypatch.delenv(CLAIMS_MODE_ENV, raising=False)
    monkeypatch.delenv(CLAIMS_LOG_ENV, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from lrlib.book import claim, remember_book_run\n"
            "remember_book_run({'dropout helps': {'dropout': 0.9, 'plain': 0.8}})\n"
            "claim('dropout helps', 0.8 > 0.9, dropout=0.8, plain=0.9)"
        ),
        nbformat.v4.new_code_cell("print('the notebook went on')"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    note = nb.cells[0].outputs[0]["data"]
    assert note["text/markdown"].startswith("> **Note.** On this run the book's claim")
    assert (
        "dropout=0.8, plain=0.9 — the book's run got dropout=0.9" in note["text/plain"]
    )
    assert nb.cells[1].outputs[0]["text"] == "the notebook went on\n"


def test_the_reader_s_copy_remembers_what_the_book_s_run_got():
    from tools.book_index import Page
    from tools.colab_copies import book_run_cell

    page = Page("book/x", ROOT / "book" / "x.ipynb")
    assert book_run_cell(page) is None  # a page without claims gets no cell
    statement = 'dropout "helps" — a lot'
    page.glue = {
        f"{BOOK_RUN_PREFIX}0123456789ab-1": {
            "data": {
                "text/plain": json.dumps(
                    {"statement": statement, "numbers": {"gap": float("nan")}}
                )
            }
        },
        "val_acc": {"data": {"text/plain": "0.9"}},
    }
    cell = book_run_cell(page)
    assert cell.metadata["cellView"] == "form"
    assert cell.metadata["jupyter"]["source_hidden"]
    remembered = {}
    namespace = {"remember_book_run": remembered.update}
    exec(cell.source.replace("from lrlib.book import remember_book_run", ""), namespace)
    assert list(remembered) == [statement]
    assert np.isnan(remembered[statement]["gap"])
