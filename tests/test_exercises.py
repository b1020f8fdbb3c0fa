"""Every chapter ends with exercises, and every exercise has a worked solution.

The form is sphinx-exercise's (CONTRIBUTING, "Exercises end every chapter"):
an ``{exercise}`` with a ``:label:`` under a ``## Exercises`` heading, and a
solution naming that label whose code cells run like any other cell.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.test_reader_copies import in_solutions
from tools.reading_time import chapters_with_a_budget

EXERCISE = re.compile(r"```\{exercise(?:-start)?\}[^\n]*\n:label: (\S+)")
SOLUTION = re.compile(r"```\{solution(?:-start)?\} (\S+)")
CHAPTERS = chapters_with_a_budget()


def exercises_and_solutions(nb) -> tuple[list[str], list[str], int]:
    """Labels of the exercises, of the solutions, and the index of the first
    Markdown cell after the ``## Exercises`` heading (-1 without one)."""
    exercises, solutions, heading = [], [], -1
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        if heading < 0 and re.search(r"^## Exercises\s*$", cell.source, re.M):
            heading = i
        for label in EXERCISE.findall(cell.source):
            exercises.append((i, label))
        solutions += SOLUTION.findall(cell.source)
    if heading >= 0 and any(i < heading for i, _ in exercises):
        heading = -2  # an exercise before the heading
    return [label for _, label in exercises], solutions, heading


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_ends_with_exercises_each_with_its_solution(path):
    nb = nbformat.read(path, as_version=4)
    exercises, solutions, heading = exercises_and_solutions(nb)
    least = 1 if path.stem.startswith("00") else 3
    assert len(exercises) >= least, f"{path.stem}: {len(exercises)} exercise(s)"
    assert heading >= 0, f"{path.stem}: the exercises belong under '## Exercises'"
    assert len(set(exercises)) == len(exercises), "an exercise label is used twice"
    assert sorted(solutions) == sorted(exercises), (
        f"{path.stem}: exercises {exercises}, solutions {solutions}"
    )
    prefix = f"ex-{path.stem[:2]}-"
    assert all(label.startswith(prefix) for label in exercises), exercises


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_solution_with_code_runs_it(path):
    """Inside a gated solution, code cells are executed like the chapter's."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell, inside in zip(code, in_solutions(nb), strict=True):
        if inside:
            assert cell.execution_count is not None, cell.source[:80]
    last = [c.source for c in nb.cells if c.cell_type == "markdown"]
    opened = sum(s.count("{solution-start}") for s in last)
    closed = sum(s.count("{solution-end}") for s in last)
    assert opened == closed, f"{path.stem}: a {{solution-start}} without its end"


def test_the_reader_finds_what_the_check_looks_for():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Exercises"),
        nbformat.v4.new_markdown_cell(
            "```{exercise} Predict\n:label: ex-02-p\n\nWhat happens?\n```"
        ),
        nbformat.v4.new_markdown_cell(
            "```{solution-start} ex-02-p\n:class: dropdown\n```"
        ),
    ]
    assert exercises_and_solutions(nb) == (["ex-02-p"], ["ex-02-p"], 0)
    nb.cells = nb.cells[1:] + nb.cells[:1]
    assert exercises_and_solutions(nb)[2] == -2
