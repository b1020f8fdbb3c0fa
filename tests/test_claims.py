"""lrlib.book.claims: a claim raises when it fails,
or is recorded for the robustness benchmark.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrlib.book.claims import CLAIMS_LOG_ENV, ClaimFailed, claim, read_claims_log


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
