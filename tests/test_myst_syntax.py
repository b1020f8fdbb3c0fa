"""Reading MyST: blocks, roles and what a reader's copy must not contain."""

from __future__ import annotations

import pytest

from tools.myst_syntax import (
    Directive,
    Fence,
    MystSyntaxError,
    Target,
    Text,
    find_roles,
    myst_leftovers,
    parse_blocks,
    replace_roles,
)


def test_blocks_of_a_cell_in_order():
    text = (
        "(intro)=\n"
        "# Title\n"
        "\n"
        "% a comment the site drops\n"
        "Text with {ref}`intro`.\n"
        "+++\n"
        "```python\n"
        "x = 1  # {ref}`not a role`\n"
        "```\n"
        "````{note}\n"
        ":class: tip\n"
        "\n"
        "Inside, a fence:\n"
        "```python\n"
        "y = 2\n"
        "```\n"
        "````\n"
    )
    blocks = parse_blocks(text)
    assert [type(b) for b in blocks] == [Target, Text, Text, Fence, Directive]
    assert blocks[0].label == "intro"
    assert blocks[1].lines == ["# Title", ""]
    assert blocks[2].lines == ["Text with {ref}`intro`."]
    assert blocks[3].lines[1] == "x = 1  # {ref}`not a role`"
    note = blocks[4]
    assert (note.name, note.argument, note.options) == ("note", "", {"class": "tip"})
    assert note.body == "Inside, a fence:\n```python\ny = 2\n```"
    assert note.line == 10


def test_directive_arguments_options_and_yaml_options():
    blocks = parse_blocks(
        "```{literalinclude} ../lrlib/x.py\n:pyobject: f\n:dedent: 4\n:docstring:\n```"
    )
    (block,) = blocks
    assert block.argument == "../lrlib/x.py"
    assert block.options == {"pyobject": "f", "dedent": "4", "docstring": None}
    assert block.body == ""
    (block,) = parse_blocks(
        ":::{admonition} A title\n---\nclass: dropdown\n---\nBody.\n:::"
    )
    assert (block.argument, block.options, block.body) == (
        "A title",
        {"class": "dropdown"},
        "Body.",
    )


def test_indented_directive_is_dedented():
    (item, directive) = parse_blocks("- item\n\n  ```{note}\n  Body\n  ```")
    assert directive.indent == "  " and directive.body == "Body"


def test_unclosed_fence_and_bare_colon_fence_are_errors():
    with pytest.raises(MystSyntaxError, match="never closed"):
        parse_blocks("text\n```{note}\nbody", "cell 3")
    with pytest.raises(MystSyntaxError, match=r"cell 4, line 1: a ::: block"):
        parse_blocks(":::\nbody\n:::", "cell 4")


def test_roles_are_a_name_before_a_code_span():
    text = (
        "A {glue:text}`lr:.2e` and {ref}`title <label>`, but not ``{ref}`x` ``,"
        " not \\{ref}`y` either... and {doc}`multi\nline`."
    )
    roles = find_roles(text)
    assert [(r.name, r.content) for r in roles] == [
        ("glue:text", "lr:.2e"),
        ("ref", "title <label>"),
        ("doc", "multi line"),
    ]
    assert replace_roles(text, lambda r: r.name.upper()).startswith(
        "A GLUE:TEXT and REF, but not ``{ref}`x` ``"
    )


@pytest.mark.parametrize(
    "markdown, kind",
    [
        ("the minimum {glue:text}`rt_min:.3g`", "role"),
        ("see {numref}`fig-x`", "role"),
        ("see {ref}`x`", "role"),
        ("see {doc}`x`", "role"),
        ("```{literalinclude} ../x.py\n```", "directive fence"),
        ("> ~~~{note}\n> x\n> ~~~", "directive fence"),
        (":::{note}\nx\n:::", "colon fence"),
        ("(my-label)=\n# Title", "target"),
        ("costs {{ price }} today", "substitution"),
        ("```python\nx = 1\n```\nsee {ref}`between`\n```python\ny = 2\n```", "role"),
    ],
)
def test_leftovers_are_found(markdown, kind):
    found = myst_leftovers(markdown)
    assert found and found[0].startswith(kind), found


@pytest.mark.parametrize(
    "markdown",
    [
        "```python\n:::\nx = f'{a}`'\n(label)=\n```",
        "Inline `{ref}` and ``{glue:text}`x` `` are code.",
        "Math $\\frac{{a}}{b}$ and $$\n\\sum_{{i}} x\n$$ stay.",
        "A plain [link](https://x.org) and *emphasis* (not a target)=",
    ],
)
def test_code_and_math_are_not_leftovers(markdown):
    assert myst_leftovers(markdown) == []


@pytest.mark.parametrize(
    "module",
    ["tools.myst_syntax", "tools.myst_to_markdown", "tools.colab", "tools.bookconfig"],
)
def test_docstring_examples_of_the_copy_tools_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
