"""The intro's reading-time table, and the one-sitting budget of a chapter."""

from __future__ import annotations

import nbformat
import pytest

from tools import reading_time as rt
from tools.bookconfig import ROOT


def test_the_intro_s_table_is_the_one_the_notebooks_give():
    text = rt.INTRO.read_text()
    start = text.index(rt.TABLE_START)
    end = text.index(rt.TABLE_END) + len(rt.TABLE_END)
    assert text[start:end] == rt.intro_table(), (
        "book/intro.md's reading-time table is out of date: run "
        "python -m tools.reading_time --write-intro"
    )


@pytest.mark.parametrize("path", rt.chapters_with_a_budget(), ids=lambda p: p.stem)
def test_a_chapter_reads_in_one_sitting(path):
    t = rt.reading_time(nbformat.read(path, as_version=4))
    assert t.minutes <= rt.BUDGET_MINUTES, (
        f"{path.relative_to(ROOT)} reads in {t.minutes:.1f} min ({t.words} words, "
        f"{t.code_lines} visible code lines, {t.figures} figures), over the "
        f"{rt.BUDGET_MINUTES}-minute budget: fold detours away or move them to a "
        "reference page"
    )


def test_every_chapter_has_a_budget_and_references_do_not():
    chapters = {p.stem for p in rt.chapters_with_a_budget()}
    assert {f"{n:02d}" for n in range(10)} <= {s[:2] for s in chapters}
    assert not any(s.startswith("appendix") for s in chapters)


def test_counting_follows_what_the_reader_sees():
    nb = nbformat.v4.new_notebook()
    shown = nbformat.v4.new_code_cell("a = 1\nb = 2\nc = 3")
    folded = nbformat.v4.new_code_cell(
        "glue('x', 1)", metadata={"tags": ["remove-cell"]}
    )
    folded.outputs = [nbformat.v4.new_output("display_data", {"image/png": "iVBOR"})]
    nb.cells = [nbformat.v4.new_markdown_cell("Four words of prose."), shown, folded]
    t = rt.reading_time(nb)
    assert (t.words, t.code_lines, t.figures) == (4, 3, 1)
    assert t.minutes == pytest.approx(4 / 200 + 3 / 10 + 0.5)
    assert t.rounded == 5


def test_a_missing_table_is_a_clear_error(tmp_path):
    intro = tmp_path / "intro.md"
    intro.write_text("# Intro\n")
    with pytest.raises(ValueError, match="holds no reading-time table"):
        rt.write_intro(intro)


def test_writing_the_table_keeps_the_rest_of_the_page(tmp_path):
    intro = tmp_path / "intro.md"
    intro.write_text(f"before\n{rt.TABLE_START}\nold\n{rt.TABLE_END}\nafter\n")
    assert rt.write_intro(intro) is True
    text = intro.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n")
    assert "old" not in text and "| 0 | {doc}`00_getting_started` |" in text
    assert rt.write_intro(intro) is False
