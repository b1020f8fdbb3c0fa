"""Claims: the checks behind the book's sentences.

When a chapter says "dropout improves validation accuracy", a cell checks it::

    claim("dropout improves validation accuracy", drop_val > plain_val,
          dropout=drop_val, no_dropout=plain_val)

The numbers passed as keywords are the evidence. What happens when a claim
does not hold depends on who runs the notebook:

* **The book's own runs** (the test command, ``make execute``, ``make site``,
  ``make bench``: :mod:`tools.notebooks` sets ``LRBOOK_CLAIMS=strict``) raise
  :class:`ClaimFailed` (an ``AssertionError``), so a sentence cannot quietly
  become false. A claim that holds records its numbers as a glued value
  (``claim-...``), from which the reader's copy of the chapter learns what the
  book's run got.
* **The robustness benchmark** (``make robustness``) sets ``LRBOOK_CLAIMS_LOG``
  to a file; each claim appends one JSON line (statement, whether it held, the
  numbers) and never raises, so one run reports every claim of a chapter.
* **A reader** (Colab, a local Jupyter, no variable set) who changes the code
  and breaks a claim gets a visible note saying so, with this run's numbers and
  the book's, and the notebook goes on: experimenting is the point.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import warnings
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "BOOK_RUN_PREFIX",
    "CLAIMS_LOG_ENV",
    "CLAIMS_MODE_ENV",
    "ClaimFailed",
    "ClaimNotHeld",
    "ClaimNote",
    "claim",
    "read_claims_log",
    "remember_book_run",
]

CLAIMS_LOG_ENV = "LRBOOK_CLAIMS_LOG"
"""When set to a file path,
claims are recorded there (one JSON line each) instead of raising.
"""
CLAIMS_MODE_ENV = "LRBOOK_CLAIMS"
"""``strict``: a failed claim raises (the book's runs). Unset: a failed claim is a
note and the notebook goes on (a reader's runs).
"""
BOOK_RUN_PREFIX = "claim-"
"""Glued names under which the book's runs record each claim's numbers."""

_book_run: dict[str, dict[str, float]] = {}
_recorded: Counter[str] = Counter()


class ClaimFailed(AssertionError):
    """A claim of the book did not hold in this run."""


class ClaimNotHeld(UserWarning):
    """A claim of the book did not hold in a reader's run (a warning, not an error)."""


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)  # Python, NumPy and 0-d tensor scalars alike
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"claim evidence {name}= must be a real number, got {type(value).__name__}"
        ) from exc
    return number


def _shown(numbers: Mapping[str, float]) -> str:
    return ", ".join(f"{name}={_format(value)}" for name, value in numbers.items())


class ClaimNote:
    """What a reader sees when a claim does not hold on their run.

    Shown as Markdown in Jupyter and Colab (``_repr_markdown_``) and as one line
    of text elsewhere; :attr:`book` holds the book's own numbers when the
    notebook knows them (:func:`remember_book_run`).
    """

    def __init__(
        self,
        statement: str,
        numbers: Mapping[str, float],
        book: Mapping[str, float] | None = None,
    ) -> None:
        self.statement = statement
        self.numbers = dict(numbers)
        self.book = None if book is None else dict(book)

    def __str__(self) -> str:
        mine = f": {_shown(self.numbers)}" if self.numbers else ""
        if self.book is not None:
            theirs = f" — the book's run got {_shown(self.book) or 'it to hold'}"
        else:
            theirs = " — the book's run held it (its page shows the numbers)"
        said = f"On this run the book's claim “{self.statement}” did not hold"
        return f"{said}{mine}{theirs}."

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return f"> **Note.** {self}"


def remember_book_run(records: Mapping[str, Mapping[str, Any]]) -> None:
    """Tell this kernel what the book's own run got for each claim.

    The reader's copy of a chapter calls this in a folded cell near its top,
    with the numbers the book's run recorded, so that a note on a claim that
    does not hold can show them side by side with the reader's.

    Args:
        records: ``{statement: {name: number}}``.

    Raises:
        TypeError, ValueError: a statement that is not a non-empty string or a
            number that is not a real number.

    Example:
        >>> remember_book_run({"two is more than one": {"two": 2, "one": 1}})
    """
    checked = {}
    for statement, numbers in records.items():
        if not isinstance(statement, str) or not statement.strip():
            raise ValueError(f"statement must be a non-empty string, got {statement!r}")
        checked[statement] = {name: _number(name, v) for name, v in numbers.items()}
    _book_run.update(checked)


def _in_a_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


def _record_for_the_book(statement: str, evidence: Mapping[str, float]) -> None:
    """Glue the numbers of a claim that held, for the reader's copy."""
    if not _in_a_kernel():
        return
    from lrlib.book.prose import glue

    key = hashlib.sha1(statement.encode("utf-8")).hexdigest()[:12]
    _recorded[key] += 1
    name = f"{BOOK_RUN_PREFIX}{key}-{_recorded[key]}"
    glue(name, json.dumps({"statement": statement, "numbers": evidence}))


def _show(note: ClaimNote) -> None:
    if _in_a_kernel():
        from IPython.display import display

        display(note)
    else:
        warnings.warn(str(note), ClaimNotHeld, stacklevel=3)


def claim(statement: str, held: Any, /, **numbers: Any) -> None:
    """Check one claim of the text.

    Args:
        statement: the claim, as the prose makes it (a non-empty sentence).
        held: whether it holds in this run; anything with a truth value
            (a Python or NumPy bool, a one-element tensor).
        **numbers: the numbers the claim is about, by name (real numbers).

    Raises:
        ClaimFailed: the claim does not hold and ``LRBOOK_CLAIMS=strict`` (the
            book's own runs). Otherwise a failed claim is recorded
            (``LRBOOK_CLAIMS_LOG``) or shown as a note (:class:`ClaimNote`; a
            :class:`ClaimNotHeld` warning outside Jupyter), and the run goes on.
        TypeError, ValueError: a malformed statement or evidence (in every mode).

    Example:
        >>> claim("two is more than one", 2 > 1, two=2, one=1)

        What a reader sees when a claim fails on their run:

        >>> print(ClaimNote("one is more than two", {"one": 1, "two": 2}, {}))
        On this run the book's claim “one is more than two” did not hold: one=1,
        two=2 — the book's run got it to hold.
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
    strict = os.environ.get(CLAIMS_MODE_ENV, "").strip().lower() == "strict"
    if held:
        if strict:
            _record_for_the_book(statement, evidence)
        return
    if strict:
        shown = _shown(evidence)
        raise ClaimFailed(f"{statement} ({shown})" if shown else statement)
    _show(ClaimNote(statement, evidence, _book_run.get(statement)))


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
