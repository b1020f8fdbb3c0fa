"""Every name of lrlib's flat namespace that a chapter uses says so, truthfully.

A public name whose object a chapter calls, imports or lists carries the line
"Shown in chapter N." (or "Shown in chapters N, M and K.") in its docstring,
for a constant in the string under its assignment. This test reads the
chapters' code cells (imports from lrlib, attributes of ``lrlib`` and of the
modules imported from it) and their ``literalinclude`` listings, and checks
both directions: every chapter that uses a name is named in its docstring,
and every chapter named there uses the name in its code, lists it, or names it
in its prose (``lrlib.numerics.PINNED_ENV`` in backticks, say).
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

import lrlib
from tools.bookconfig import chapter_notebooks

SHOWN = re.compile(r"Shown in chapters? ([\d, and]+)\.")
LITERALINCLUDE = re.compile(
    r"```\{literalinclude\}\s*\.\./(\S+)\.py\s*\n(?:[^\n]*\n)*?:pyobject:\s*([\w.]+)"
)


def chapter_number(path: Path) -> int | None:
    """The number a chapter's file starts with; None for an appendix page."""
    prefix = path.stem.split("_")[0]
    return int(prefix) if prefix.isdigit() else None


def _parse(source: str) -> ast.Module | None:
    # IPython lines (%pip, !cmd) are not Python; blank them out.
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    ]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def used_in_code(*sources: str) -> set[str]:
    """The names of lrlib's flat namespace that a chapter's code cells use.

    Used: imported from ``lrlib``, or reached as ``lrlib.X`` or ``alias.X``
    for a module imported from lrlib in any cell of the chapter
    (``from lrlib import moving_averages as ma``, then ``ma.ewma``).
    """
    trees = [tree for tree in map(_parse, sources) if tree is not None]
    names: set[str] = set()
    modules = set()  # names bound to lrlib or to one of its modules
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.ImportFrom) and node.module == "lrlib":
            for alias in node.names:
                if alias.name in lrlib._EXPORTS:
                    names.add(alias.name)
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lrlib":
                    modules.add(alias.asname or "lrlib")
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.Attribute) and node.attr in lrlib._EXPORTS:
            base = node.value
            while isinstance(base, ast.Attribute):  # lrlib.numerics.X
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                names.add(node.attr)
    return names


@cache
def usage() -> dict[int, dict[str, set[str]]]:
    """chapter -> {"code": names, "listed": names, "prose": text}."""
    found = {}
    for path in chapter_notebooks():
        if chapter_number(path) is None:  # an appendix: a reference, not a chapter
            continue
        nb = nbformat.read(path, as_version=4)
        code = used_in_code(*(c.source for c in nb.cells if c.cell_type == "code"))
        listed: set[str] = set()
        prose = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                prose.append(cell.source)
                for file, pyobject in LITERALINCLUDE.findall(cell.source):
                    name = pyobject.split(".")[0]
                    module = file.replace("/", ".")
                    if lrlib._EXPORTS.get(name) == module:
                        listed.add(name)
        found[chapter_number(path)] = {
            "code": code,
            "listed": listed,
            "prose": "\n".join(prose),
        }
    return found


def docstring_of(name: str) -> str:
    """The docstring of a flat name's object; for a constant, the string under it."""
    module_name = lrlib._EXPORTS[name]
    value = getattr(importlib.import_module(module_name), name)
    if callable(value) and getattr(value, "__doc__", None):
        return value.__doc__
    source = Path(importlib.import_module(module_name).__file__).read_text()
    tree = ast.parse(source)
    for node, after in zip(tree.body, tree.body[1:]):
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                return str(after.value.value)
            return ""
    return ""


def claimed_chapters(name: str) -> set[int]:
    chapters: set[int] = set()
    for match in SHOWN.finditer(docstring_of(name)):
        chapters |= {int(n) for n in re.findall(r"\d+", match.group(1))}
    return chapters


def used_chapters(name: str) -> set[int]:
    return {
        chapter
        for chapter, seen in usage().items()
        if name in seen["code"] or name in seen["listed"]
    }


NAMES = sorted(name for name in lrlib._EXPORTS)


@pytest.mark.parametrize("name", NAMES)
def test_the_chapters_that_use_a_name_are_named_in_its_docstring(name):
    missing = used_chapters(name) - claimed_chapters(name)
    assert not missing, (
        f"lrlib.{name} is used in chapter(s) {sorted(missing)}: its docstring should "
        "say 'Shown in chapter(s) ...' with them (it names "
        f"{sorted(claimed_chapters(name))})"
    )


@pytest.mark.parametrize("name", NAMES)
def test_a_chapter_named_in_a_docstring_shows_the_name(name):
    unshown = [
        chapter
        for chapter in sorted(claimed_chapters(name) - used_chapters(name))
        if not re.search(
            rf"`[\w.]*\b{re.escape(name)}\b`|\blrlib(\.\w+)*\.{re.escape(name)}\b",
            usage()[chapter]["prose"],
        )
    ]
    assert not unshown, (
        f"the docstring of lrlib.{name} says it is shown in chapter(s) {unshown}, "
        "whose code, listings and prose never use it"
    )


def test_the_usage_reader_sees_imports_attributes_and_listings():
    code = (
        "import lrlib\nfrom lrlib import Trainer, moving_averages as ma\n"
        "from lrlib.book import glue\nx = ma.ewma(y, 0.5)\nm = lrlib.TwoBlockCNN()\n"
        "data.train  # an attribute of something else\n%pip install nothing\n"
    )
    assert used_in_code(code) == {"Trainer", "ewma", "TwoBlockCNN"}
    text = "```{literalinclude} ../lrlib/lr_range_test.py\n:pyobject: range_test\n```"
    assert LITERALINCLUDE.findall(text) == [("lrlib/lr_range_test", "range_test")]


def test_most_of_the_flat_namespace_is_shown_somewhere():
    shown = [name for name in NAMES if claimed_chapters(name)]
    assert len(shown) >= 0.8 * len(NAMES), sorted(set(NAMES) - set(shown))


@pytest.mark.parametrize("path", lrlib.MODULE_ONLY)
def test_a_name_left_out_of_the_flat_namespace_is_used_by_no_chapter(path):
    module, _, name = path.rpartition(".")
    assert name in importlib.import_module(module).__all__
    assert not used_chapters(name), (
        f"{path} is used in chapter(s) {sorted(used_chapters(name))}: put it back "
        "in lrlib's flat namespace (and out of lrlib.MODULE_ONLY)"
    )
