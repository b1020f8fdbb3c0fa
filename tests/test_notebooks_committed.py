"""Guards on the committed notebooks.

nbval passes silently over a cell that was never executed (it has nothing to
compare), so these checks make sure every chapter is committed fully executed,
in order, without errors, and with the Colab bootstrap cell first.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from lrlib.book import PHONE_WIDTH
from tools import colab
from tools.bookconfig import ROOT, chapter_notebooks, repository, toc_files

NOTEBOOKS = chapter_notebooks()
IDS = [p.stem for p in NOTEBOOKS]
VARYING_TAGS = {"nbval-ignore-output", "nbval-skip"}
# Cells allowed to opt out of output comparison, as a share of all code cells
# (the Colab bootstrap cells are not counted: they never run in the tests).
VARYING_BUDGET = 0.05


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def varying_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of code cells (bootstrap excluded)
    whose output nbval does not compare.
    """
    return [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and i > 0
        and VARYING_TAGS & set(c.metadata.get("tags", []))
    ]


def test_every_notebook_is_in_the_table_of_contents():
    in_toc = {ROOT / f"{f}.ipynb" for f in toc_files()}
    on_disk = {
        p
        for p in (ROOT / "book").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    }
    assert on_disk - in_toc == set(), "notebooks missing from _toc.yml"
    assert NOTEBOOKS, "no chapter notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_fully_executed_in_order(path):
    counts = [c.execution_count for c in code_cells(read(path))]
    never = [i for i, n in enumerate(counts) if n is None]
    assert not never, (
        f"{path.name}: code cells {never} were never executed (run: make execute)"
    )
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..n: "
        "re-run it top to bottom (make execute)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_error_outputs(path):
    errors = [
        (i, out.get("ename"))
        for i, c in enumerate(read(path).cells)
        if c.cell_type == "code"
        for out in c.outputs
        if out.output_type == "error"
    ]
    assert not errors, f"{path.name}: error outputs committed in cells {errors}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_is_python3(path):
    assert read(path).metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_colab_bootstrap_cell_first(path):
    assert colab.problems(read(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_glue_reference_is_glued(path):
    nb = read(path)
    glued = {
        out["metadata"]["scrapbook"]["name"]
        for c in code_cells(nb)
        for out in c.outputs
        if "scrapbook" in out.get("metadata", {})
    }
    referenced = {
        m.group(1)
        for c in nb.cells
        if c.cell_type == "markdown"
        for m in re.finditer(r"\{glue(?::\w+)?\}`([\w-]+)", c.source)
    }
    assert referenced - glued == set(), (
        f"{path.name}: prose quotes values the notebook never glued"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_cell_relies_on_a_trailing_semicolon(path):
    # nbval executes cells without storing them in IPython's history, and IPython
    # looks for the trailing ';' in that history: under nbval the value is shown
    # anyway, and the outputs differ from the committed ones. Assign instead (_ = ...).
    offenders = [
        i
        for i, c in enumerate(read(path).cells)
        if c.cell_type == "code" and c.source.rstrip().endswith(";")
    ]
    assert not offenders, (
        f"{path.name}: cells {offenders} end with ';' (write `_ = ...` instead)"
    )


def test_few_cells_opt_out_of_output_comparison(record_property):
    tagged = {p.name: varying_cells(read(p)) for p in NOTEBOOKS}
    total = sum(len(code_cells(read(p))) - 1 for p in NOTEBOOKS)
    count = sum(len(v) for v in tagged.values())
    record_property("varying_cells", count)
    print(
        f"\n{count} of {total} code cells are tagged {sorted(VARYING_TAGS)}: "
        + ", ".join(f"{name} {cells}" for name, cells in tagged.items() if cells)
    )
    assert count <= VARYING_BUDGET * total, (
        f"{count} of {total} code cells skip output comparison (budget "
        f"{VARYING_BUDGET:.0%}): {tagged}"
    )


def test_colab_bootstrap_follows_config():
    source = colab.bootstrap_source()
    repo = repository()
    assert f"git+{repo.url}@{repo.branch}" in source
    assert 'if "google.colab" in sys.modules:' in source


ADAM_CALL = re.compile(r"torch\.optim\.Adam(W)?\((?P<args>[^()]*(\([^()]*\)[^()]*)*)\)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_adam_that_trains_is_fused(path):
    """The default Adam's square root differs in the last bit between Intel and AMD
    CPUs (lrlib.numerics); the fused kernel gives the same bits everywhere."""
    offenders = []
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code":
            continue
        for match in ADAM_CALL.finditer(cell.source):
            args = match.group("args")
            if "parameters()" in args and "fused=True" not in args:
                offenders.append(f"cell {i}: {match.group(0)[:80]}")
    assert not offenders, f"{path.name}: Adam without fused=True: {offenders}"


# -------------------------------------------------------- figures on a phone


def pictures(cell: nbformat.NotebookNode) -> list[tuple[str, bytes, float]]:
    """(what, PNG bytes, density) for every picture a phone would show: image
    outputs, and in HTML outputs the narrow source of a ``<picture>``
    (lrlib.book.responsive) or else every embedded image."""
    found = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data:
            found.append(("image", base64.b64decode(data["image/png"]), 1.0))
        html = "".join(data.get("text/html", ""))
        narrow = re.search(
            r'<source media="[^"]*" srcset="data:image/png;base64,([^" ]+) (\d+)x"',
            html,
        )
        if narrow:
            found.append(
                ("narrow picture", base64.b64decode(narrow.group(1)), float(narrow[2]))
            )
        elif "frames[0]" in html:  # an animation's frames: one size, check one
            first = re.search(r'frames\[0\] = "data:image/png;base64,([^"]+)"', html)
            found.append(("animation frame", base64.b64decode(first.group(1)), 1.0))
        else:
            for png in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
                found.append(("html image", base64.b64decode(png), 1.0))
    return found


def inches_wide(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        return image.size[0] / image.info["dpi"][0]


def wider_than_a_phone(png: bytes) -> bool:
    return inches_wide(png) > PHONE_WIDTH + 0.02  # rounding to whole pixels


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_is_readable_on_a_phone(path):
    """No picture a phone shows is wider than lrlib.book.PHONE_WIDTH
    inches: drawn wider, a figure's text shrinks below 0.75 CSS pixels per
    point on a 390-pixel phone (tests/test_site.py measures it in a browser).
    Wider figures go through lrlib.book.responsive, which stacks their panels."""
    too_wide = [
        f"cell {i}: {what} {inches_wide(png):.1f} in"
        for i, c in enumerate(read(path).cells)
        if c.cell_type == "code"
        for what, png, _ in pictures(c)
        if wider_than_a_phone(png)
    ]
    assert not too_wide, f"{path.name}: wider than a phone allows: {too_wide}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_explorer_picture_is_readable_on_a_phone(path):
    """The same for the pictures an explorer precomputed for the website (its
    Image widgets in the notebook's widget state), which carry their dpi."""
    state = (
        read(path)
        .metadata.get("widgets", {})
        .get("application/vnd.jupyter.widget-state+json", {})
        .get("state", {})
    )
    too_wide = [
        f"widget {key}: {inches_wide(png):.1f} in"
        for key, model in state.items()
        if model["model_name"] == "ImageModel"
        for png in [base64.b64decode(model["buffers"][0]["data"])]
        if wider_than_a_phone(png)
    ]
    assert not too_wide, f"{path.name}: wider than a phone allows: {too_wide[:3]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_has_a_caption(path):
    uncaptioned = [
        i
        for i, c in enumerate(read(path).cells)
        if c.cell_type == "code"
        and pictures(c)
        and not c.metadata.get("mystnb", {}).get("figure", {}).get("caption")
    ]
    assert not uncaptioned, (
        f"{path.name}: cells {uncaptioned} show a figure uncaptioned"
    )
