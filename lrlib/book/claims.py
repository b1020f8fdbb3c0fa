"""Claims: the checks behind the book's sentences.

When a chapter says "dropout improves validation accuracy", a cell checks it::

    claim("dropout improves validation accuracy", drop_val > plain_val,
          dropout=drop_val, no_dropout=plain_val)

In a normal run a claim that does not hold raises :class:`ClaimFailed` (an
``AssertionError``), so the book's tests fail instead of a sentence quietly
becoming false. The numbers passed as keywords are the evidence: they appear
in the error message.

The robustness benchmark (``make robustness``) re-runs every chapter over
several training seeds, stand-in data sets and numerics settings. It sets
``LRBOOK_CLAIMS_LOG`` to a file; then each claim appends one JSON line
(statement, whether it held, the numbers) and never raises, so one run
reports every claim of a chapter, not only the first that failed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["CLAIMS_LOG_ENV", "ClaimFailed", "claim", "read_claims_log"]

CLAIMS_LOG_ENV = "LRBOOK_CLAIMS_LOG"
"""When set to a file path,
claims are recorded there (one JSON line each) instead of raising.
"""


class ClaimFailed(AssertionError):
    """A claim of the book did not hold in this run."""


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)  # Python, NumPy and 0-d tensor scalars alike
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"claim evidence {name}= must be a real number, got {type(value).__name__}"
        ) from exc
    return number


def claim(statement: str, held: Any, /, **numbers: Any) -> None:
    """Check one claim of the text; raise (or record) when it does not hold.

    Args:
        statement: the claim, as the prose makes it (a non-empty sentence).
        held: whether it holds in this run; anything with a truth value
            (a Python or NumPy bool, a one-element tensor).
        **numbers: the numbers the claim is about, by name (real numbers).

    Raises:
        ClaimFailed: the claim does not hold (unless ``LRBOOK_CLAIMS_LOG`` is set).
        TypeError, ValueError: a malformed statement or evidence.

    Example:
        >>> claim("two is more than one", 2 > 1, two=2, one=1)
        >>> claim("one is more than two", 1 > 2, one=1, two=2)
        Traceback (most recent call last):
        ...
        lrlib.book.claims.ClaimFailed: one is more than two (one=1, two=2)
    """
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"statement must be a non-empty string, got {statement!r}")
    evidence = {name: _number(name, value) for name, value in numbers.items()}
    held = bool(held)
    log = os.environ.get(CLAIMS_LOG_ENV, "").strip()
    if log:
        record = {"statement": statement, "held": held, "numbers": evidence}
        with open(log, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, allow_nan=True) + "\n")
        return
    if not held:
        shown = ", ".join(
            f"{name}={_format(value)}" for name, value in evidence.items()
        )
        raise ClaimFailed(f"{statement} ({shown})" if shown else statement)


def _format(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def read_claims_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the records that :func:`claim` appended to ``path``.

    Returns:
        One dictionary per claim, in the order they were checked, with the
        keys ``statement`` (str), ``held`` (bool) and ``numbers`` (dict).
        A missing file gives an empty list.
    """
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if not isinstance(record, Mapping) or not {
            "statement",
            "held",
            "numbers",
        } <= set(record):
            raise ValueError(
                f"{path}, line {number}: not a claim record: {line[:80]!r}"
            )
        records.append(dict(record))
    return records
