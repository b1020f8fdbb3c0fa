"""A small book that uses every MyST construct the reader's copy converts.

The chapters of the real book use only some of them (no exercises yet, no
``{figure}`` directive, no ``{numref}``), so the copy's rules for the others
are tested on this one. :func:`make_book` writes it into a folder, with a
notebook that is then executed for real (its glued values and figures are
outputs, as in the book), a Python module for its listings, an image for its
``{figure}`` and a Markdown page to link to.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import yaml

from tools import colab
from tools.notebooks import notebook_client, regression_env

CHAPTER = "book/03_fixture"
# The fixture's own notebook is not a .ipynb file in the repository, so that
# nbval (which collects every notebook under tests/) does not run it.

SAMPLE_MODULE = '''\
"""A module for the fixture's listings."""


class Scaler:
    """Multiplies numbers."""

    def __init__(self, factor: float) -> None:
        """Keep the factor."""

        self.factor = factor

    def scale(self, value: float) -> float:
        """The value times the factor.

        Long enough to span lines.
        """
        return value * self.factor


def shift(value: float, by: float = 1.0) -> float:
    """The value plus ``by``."""
    return value + by
'''


def _md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"))


def _code(source: str, **metadata) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"))
    cell.metadata.update(metadata)
    return cell


def notebook() -> nbformat.NotebookNode:
    """The fixture chapter, not yet executed."""
    cells = [
        colab.bootstrap_cell(),
        _md(
            """
            # A fixture chapter

            The share is {glue:text}`share:.1%`, the count {glue:text}`count:,`,
            the rate {glue:text}`rate:.3g`, the rule {glue:text}`rule` and, in
            full, {glue}`rate`.
            """
        ),
        _code(
            """
            from myst_nb import glue

            import matplotlib.pyplot as plt

            share, count, rate = 0.123456, 12345, 0.000312345
            glue("share", share, display=False)
            glue("count", count, display=False)
            glue("rate", rate, display=False)
            glue("rule", "steepest slope", display=False)
            assert count > 0
            """,
            tags=["remove-cell"],
        ),
        _code(
            """
            # Draw the line
            fig, ax = plt.subplots(figsize=(3, 2))
            _ = ax.plot([0, 1], [0, rate])
            """,
            tags=["hide-input"],
            mystnb={
                "figure": {
                    "caption": "A line up to the rate, {glue:text}`rate:.2e`.",
                    "name": "fig-fixture-line",
                }
            },
        ),
        _md(
            """
            (fixture-section)=
            ## Listings and notes

            {numref}`fig-fixture-line` draws a line; {numref}`Picture %s <fig-picture>`
            is a picture. The method, {ref}`listed below <fixture-listing>`, and
            the page {doc}`intro` say more; so does {ref}`fixture-section` and
            {doc}`the start <intro>`.

            ```{note}
            A note that quotes {glue:text}`count`.
            ```

            :::{admonition} Careful here
            :class: dropdown
            Body of the dropdown, with a listing:
            ```{literalinclude} ../lib/sample.py
            :pyobject: shift
            :docstring:
            ```
            :::

            (fixture-listing)=
            ```{literalinclude} ../lib/sample.py
            :pyobject: Scaler.scale
            :dedent: 4
            ```

            ```{literalinclude} ../lib/sample.py
            :pyobject: Scaler
            ```

            ```{figure} picture.png
            :name: fig-picture

            A small picture. Its legend comes second.
            ```
            """
        ),
        _md(
            """
            ## Exercises

            ```{exercise} Predict, then run
            :label: ex-predict
            What does `shift(2)` return?
            ```

            ```{exercise-start}
            :label: ex-change
            ```

            Change the factor below so the result doubles.
            """
        ),
        _code(
            """
            factor = 2
            print(factor * 3)
            """
        ),
        _md(
            """
            ```{exercise-end}
            ```

            ```{solution-start} ex-change
            ```

            Doubling the factor doubles the result:
            """
        ),
        _code(
            """
            factor = 4
            print(factor * 3)
            """
        ),
        _md(
            """
            The printed number is twice the first.

            ```{solution-end}
            ```

            After the solution, {numref}`ex-change` is done.
            """
        ),
        _code(
            """
            fig, ax = plt.subplots(figsize=(3, 2))
            _ = ax.plot([0, 1], [1, 0])
            """,
            mystnb={
                "figure": {"caption": "A falling line.", "name": "fig-fixture-fall"}
            },
        ),
        _md(
            """
            ```{solution} ex-predict
            It returns {glue:text}`rate:.1e` plus nothing: no, it returns 3.0.
            ```
            """
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def make_book(folder: Path, *, execute: bool = True) -> Path:
    """Write the fixture book into ``folder`` (executing its notebook); returns it."""
    (folder / "book").mkdir(parents=True, exist_ok=True)
    (folder / "lib").mkdir(exist_ok=True)
    (folder / "lib" / "sample.py").write_text(SAMPLE_MODULE)
    (folder / "book" / "intro.md").write_text(
        "# The fixture's start\n\nA page to link to.\n"
    )
    _write_picture(folder / "book" / "picture.png")
    (folder / "_toc.yml").write_text(
        yaml.safe_dump(
            {
                "format": "jb-book",
                "root": "book/intro",
                "chapters": [{"file": CHAPTER}],
            }
        )
    )
    nb = notebook()
    path = folder / f"{CHAPTER}.ipynb"
    if execute:
        client = notebook_client(nb, path)
        with regression_env():
            client.execute()
    nbformat.write(nb, path)
    return folder


def _write_picture(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (8, 6), (200, 30, 30)).save(path)
