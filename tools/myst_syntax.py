"""Reading the MyST Markdown of the book: blocks, directives, roles, leftovers.

The chapters' Markdown is MyST, CommonMark plus the syntax Sphinx needs:
directives in fenced blocks (```` ```{name} ```` or ``:::{name}``), roles
(``{name}`content` ``), targets (``(label)=``), comments (``% ...``) and
block breaks (``+++``). This module finds them, and nothing else: what they
become in a reader's copy is decided by :mod:`tools.myst_to_markdown`.

It is a reader of the subset the book can use, not a full CommonMark parser:
fences are recognised at any indentation, roles are a ``{name}`` directly
before a code span, and code spans follow CommonMark's backtick rule (a run of
*n* backticks closes at the next run of exactly *n*).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import yaml

__all__ = [
    "Directive",
    "Fence",
    "MystSyntaxError",
    "Role",
    "Target",
    "Text",
    "find_roles",
    "myst_leftovers",
    "parse_blocks",
    "replace_roles",
]


class MystSyntaxError(ValueError):
    """The Markdown is not MyST this module can read (an unclosed fence, ...)."""


@dataclass
class Text:
    """Ordinary Markdown lines, where roles may appear."""

    lines: list[str]
    line: int  # 1-based number of the first line in the parsed text


@dataclass
class Fence:
    """An ordinary fenced code block, kept verbatim (fences included)."""

    lines: list[str]
    line: int


@dataclass
class Target:
    """A ``(label)=`` line: a name for what follows."""

    label: str
    line: int


@dataclass
class Directive:
    """A fenced ``{name}`` block.

    ``argument`` is the rest of the opening line, ``options`` the ``:key: value``
    lines (or YAML block) that open the body (a flag's value is None),
    ``body`` the rest of the body, dedented to the fence's indentation.
    """

    name: str
    argument: str
    options: dict[str, str | None]
    body: str
    indent: str
    line: int
    fence: str = field(default="```", repr=False)


Block = Text | Fence | Target | Directive

_FENCE_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$"
)
_DIRECTIVE_INFO = re.compile(r"^\s*\{(?P<name>[A-Za-z0-9_:+.-]+)\}\s*(?P<argument>.*)$")
_TARGET = re.compile(r"^\s*\((?P<label>[^()\s][^()]*)\)=\s*$")
_COMMENT = re.compile(r"^\s*%")
_BLOCK_BREAK = re.compile(r"^\s*\+\+\+")
_OPTION = re.compile(
    r"^:(?P<key>[A-Za-z0-9_][A-Za-z0-9_-]*):(?:\s+(?P<value>.*?))?\s*$"
)


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a fence opened with ``fence``."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _split_options(lines: list[str], where: str) -> tuple[dict, list[str]]:
    """Options at the top of a directive body, and the lines after them."""
    options: dict[str, str | None] = {}
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise MystSyntaxError(
                f"{where}: the directive's option block opened with '---' is never "
                "closed by another '---'"
            ) from None
        loaded = yaml.safe_load("\n".join(lines[1:end])) or {}
        if not isinstance(loaded, dict):
            raise MystSyntaxError(
                f"{where}: the directive's option block must be a YAML mapping, "
                f"got {loaded!r}"
            )
        options = {str(k): None if v is None else str(v) for k, v in loaded.items()}
        rest = lines[end + 1 :]
    else:
        index = 0
        while index < len(lines):
            match = _OPTION.match(lines[index])
            if not match:
                break
            options[match["key"]] = match["value"] or None
            index += 1
        rest = lines[index:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    while rest and not rest[-1].strip():
        rest = rest[:-1]
    return options, rest


def parse_blocks(text: str, where: str = "Markdown") -> list[Block]:
    """Split MyST Markdown into text, code fences, targets and directives.

    Comment lines (``% ...``) and block breaks (``+++``) are dropped, as the
    site drops them.

    Args:
        text: the Markdown of a cell or a page.
        where: names the text in error messages (``book/03_x.ipynb, cell 12``).

    Returns:
        The blocks in order.

    Raises:
        MystSyntaxError: a fence is never closed, or a ``:::`` block names no
            directive.

    Example:
        >>> blocks = parse_blocks("(intro)=\\n# Title\\n\\n```{note}\\nSee.\\n```\\n")
        >>> [type(b).__name__ for b in blocks]
        ['Target', 'Text', 'Directive']
        >>> blocks[2].name, blocks[2].body
        ('note', 'See.')
    """
    lines = text.split("\n")
    blocks: list[Block] = []
    pending: list[str] = []
    pending_start = 1

    def flush() -> None:
        nonlocal pending
        if any(line.strip() for line in pending):
            blocks.append(Text(pending, pending_start))
        pending = []

    index = 0
    while index < len(lines):
        line = lines[index]
        number = index + 1
        opening = _FENCE_OPEN.match(line)
        if opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            fence = opening["fence"]
            end = next(
                (j for j in range(index + 1, len(lines)) if _closes(lines[j], fence)),
                None,
            )
            if end is None:
                raise MystSyntaxError(
                    f"{where}, line {number}: the fence {fence!r} opened here is "
                    "never closed"
                )
            flush()
            directive = _DIRECTIVE_INFO.match(opening["info"])
            if directive:
                indent = opening["indent"]
                body = [
                    raw[len(indent) :] if raw.startswith(indent) else raw.lstrip()
                    for raw in lines[index + 1 : end]
                ]
                options, content = _split_options(body, f"{where}, line {number}")
                blocks.append(
                    Directive(
                        name=directive["name"],
                        argument=directive["argument"].strip(),
                        options=options,
                        body="\n".join(content),
                        indent=indent,
                        line=number,
                        fence=fence,
                    )
                )
            elif fence[0] == ":":
                raise MystSyntaxError(
                    f"{where}, line {number}: a {fence} block must name a directive "
                    f"({fence}{{name}}), got {line.strip()!r}"
                )
            else:
                blocks.append(Fence(lines[index : end + 1], number))
            index = end + 1
            pending_start = index + 1
            continue
        target = _TARGET.match(line)
        if target:
            flush()
            blocks.append(Target(target["label"].strip(), number))
            pending_start = number + 1
        elif _COMMENT.match(line) or _BLOCK_BREAK.match(line):
            flush()
            pending_start = number + 1
        else:
            if not pending:
                pending_start = number
            pending.append(line)
        index += 1
    flush()
    return blocks


# --------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------

_BACKTICKS = re.compile(r"`+")
_ROLE_HEAD = re.compile(r"\{(?P<name>[A-Za-z0-9_+:.-]+)\}")
_ROLE_NAME_MAX = 64


@dataclass(frozen=True)
class Role:
    """``{name}`content` `` at ``text[start:end]``."""

    name: str
    content: str
    start: int
    end: int


def _escaped(text: str, index: int) -> bool:
    """Whether ``text[index]`` follows an odd number of backslashes."""
    before = text[:index]
    return (len(before) - len(before.rstrip("\\"))) % 2 == 1


def _code_spans(text: str) -> Iterator[tuple[int, int, int, int]]:
    """(open start, open end, close start, close end) of every code span."""
    pos = 0
    while True:
        run = _BACKTICKS.search(text, pos)
        if run is None:
            return
        if _escaped(text, run.start()):  # an escaped backtick opens nothing
            pos = run.start() + 1
            continue
        size = len(run.group())
        search = run.end()
        while True:
            close = _BACKTICKS.search(text, search)
            if close is None:
                pos = run.end()
                break
            if len(close.group()) == size:
                yield run.start(), run.end(), close.start(), close.end()
                pos = close.end()
                break
            search = close.end()


def find_roles(text: str) -> list[Role]:
    """Every role in ``text``: a ``{name}`` directly followed by a code span.

    A ``{name}`` inside a code span is code, not a role.

    Example:
        >>> [(r.name, r.content) for r in find_roles("x {ref}`a <b>` and `{ref}`")]
        [('ref', 'a <b>')]
    """
    roles = []
    for open_start, open_end, close_start, close_end in _code_spans(text):
        brace = text.rfind("{", max(0, open_start - _ROLE_NAME_MAX), open_start)
        if brace < 0:
            continue
        head = _ROLE_HEAD.fullmatch(text, brace, open_start)
        if head is None or _escaped(text, brace):
            continue
        content = " ".join(text[open_end:close_start].split("\n"))
        roles.append(Role(head["name"], content, brace, close_end))
    return roles


def replace_roles(text: str, replace: Callable[[Role], str]) -> str:
    """``text`` with every role replaced by ``replace(role)``."""
    out = []
    pos = 0
    for role in find_roles(text):
        out.append(text[pos : role.start])
        out.append(replace(role))
        pos = role.end
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------
# What must not be left in a reader's copy
# --------------------------------------------------------------------------

_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.DOTALL)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])[^$\n]*?(?<![\s\\])\$")
_DIRECTIVE_FENCE = re.compile(r"^[ \t>]*(?:`{3,}|~{3,})\s*\{", re.MULTILINE)
_COLON_FENCE = re.compile(r"^[ \t>]*:{3,}", re.MULTILINE)
_TARGET_ANYWHERE = re.compile(r"^[ \t>]*\([^()\s][^()]*\)=\s*$", re.MULTILINE)
_SUBSTITUTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_PLAIN_FENCE = re.compile(r"^[ \t>]*(`{3,}|~{3,})")


def _without_code_blocks(text: str, *, keep_fences: bool) -> str:
    """``text`` with the contents of fenced blocks blanked.

    With ``keep_fences`` the fence lines themselves stay (to look at them);
    without, they are blanked too (so that their backticks open no code span).
    """
    out = []
    fence = None
    for line in text.split("\n"):
        bare = line.strip(" \t>")
        if fence is None:
            match = _PLAIN_FENCE.match(line)
            if match:
                fence = match.group(1)
            out.append(line if keep_fences or not match else "")
        elif len(bare) >= len(fence) and set(bare) == {fence[0]}:
            fence = None
            out.append(line if keep_fences else "")
        else:
            out.append("")
    return "\n".join(out)


def _masked(text: str) -> str:
    """``text`` with code spans and math replaced by spaces."""
    chars = list(text)
    for start, _, _, end in _code_spans(text):
        chars[start:end] = " " * (end - start)
    masked = "".join(chars)
    for pattern in (_DISPLAY_MATH, _INLINE_MATH):
        masked = pattern.sub(lambda m: " " * len(m.group()), masked)
    return masked


def myst_leftovers(markdown: str) -> list[str]:
    """The MyST constructs left in Markdown meant for plain Jupyter.

    Roles (``{glue:text}`x` ``, ``{ref}`...` ``), directive fences
    (```` ```{name} ````, ``:::``), targets (``(label)=``) and substitutions
    (``{{ x }}``) are reported; the contents of ordinary code blocks, code
    spans and math are not looked at.

    Returns:
        One line per leftover, empty when there is none.

    Example:
        >>> myst_leftovers("The minimum, {glue:text}`lr:.3g`, and `{ref}` in code.")
        ['role {glue:text}`lr:.3g`']
        >>> myst_leftovers("```python\\n:::\\n```")
        []
    """
    prose = _without_code_blocks(markdown, keep_fences=False)
    found = [f"role {{{r.name}}}`{r.content}`" for r in find_roles(prose)]
    text = _without_code_blocks(markdown, keep_fences=True)
    for what, pattern in (
        ("directive fence", _DIRECTIVE_FENCE),
        ("colon fence", _COLON_FENCE),
        ("target", _TARGET_ANYWHERE),
    ):
        found += [f"{what} {m.group().strip()!r}" for m in pattern.finditer(text)]
    found += [
        f"substitution {m.group()!r}" for m in _SUBSTITUTION.finditer(_masked(prose))
    ]
    return found
