"""Listings of lrlib's source without their docstrings.

The chapters show lrlib's real code with ``literalinclude`` and ``:pyobject:``,
so that what a reader reads is what the tests test. The docstrings of those
objects repeat, for the library's users, what the surrounding prose already
says; on the page they push the code out of sight. This extension replaces the
``literalinclude`` directive with one that drops every docstring from a
``:pyobject:`` listing (the class's, and its methods'), unless the directive
says ``:docstring:``. Everything else (``:dedent:``, ``:lines:``, captions) is
Sphinx's own.
"""

from __future__ import annotations

import ast
import textwrap
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.directives.code import LiteralInclude


def docstring_lines(source: str) -> set[int]:
    """0-based numbers of the lines that hold docstrings in ``source``.

    A docstring that is the whole body of a function is kept (removing it would
    leave a body that is not Python).
    """
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return set()
    drop: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        first = node.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
            and len(node.body) > 1
        ):
            drop.update(range(first.lineno - 1, first.end_lineno))
    return drop


def without_docstrings(source: str) -> str:
    """``source`` with its docstrings (and a blank line right after one) removed.

    Example:
        >>> source = 'def f():\\n    \"\"\"Doc.\"\"\"\\n\\n    return 1\\n'
        >>> print(without_docstrings(source))
        def f():
            return 1
        <BLANKLINE>
    """
    lines = source.splitlines(keepends=True)
    drop = docstring_lines(source)
    for number in sorted(drop):
        after = number + 1
        if after not in drop and after < len(lines) and not lines[after].strip():
            drop.add(after)
    return "".join(line for i, line in enumerate(lines) if i not in drop)


class ListingInclude(LiteralInclude):
    option_spec = {**LiteralInclude.option_spec, "docstring": directives.flag}

    def run(self) -> list[nodes.Node]:
        keep = "docstring" in self.options
        self.options.pop("docstring", None)
        result = super().run()
        if keep or "pyobject" not in self.options:
            return result
        for root in result:
            for block in root.findall(nodes.literal_block):
                text = without_docstrings(block.astext())
                block.rawsource = text
                block.children = [nodes.Text(text)]
        return result


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("literalinclude", ListingInclude, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
