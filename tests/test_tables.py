"""lrlib.book.tables: tables that render as HTML on the site and as text elsewhere."""

from __future__ import annotations

import pytest

from lrlib.book.tables import Table


def test_text_is_aligned_numbers_right():
    table = Table(["policy", "final"], [["cosine", "86.8%"], ["one-cycle", "9.0%"]])
    lines = str(table).splitlines()
    assert lines[0].split() == ["policy", "final"]
    assert lines[2].endswith("86.8%") and lines[3].endswith(" 9.0%")
    assert len({len(line) for line in lines[1:]}) == 1  # every row as wide as the rule


def test_html_escapes_and_aligns():
    html = Table(["a<b", "n"], [["x&y", 1]], caption="t")._repr_html_()
    assert "a&lt;b" in html and "x&amp;y" in html and "<caption>t</caption>" in html
    assert html.count("text-align: right") == 2 and "|" not in html


def test_rows_must_match_the_header():
    with pytest.raises(ValueError, match="row 1 has 1 cells, expected 2"):
        Table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="at least one column"):
        Table([], [])
