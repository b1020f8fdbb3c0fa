"""Turning the book's MyST Markdown into the plain Markdown of a reader's copy.

Every directive and role the book may use has a rule here, and the rules
produce what plain Jupyter and Colab render:

=====================================  ==========================================
MyST                                   reader's copy
=====================================  ==========================================
``{glue:text}`name:fmt` ``             the value, formatted by myst-nb's own
                                       ``format_plain_text`` (so as on the site)
``{glue}`` / ``{glue:any}`` roles      the value's text/markdown, html, latex or
``{glue:md}``                          plain text, chosen as myst-nb chooses
``{literalinclude}``                   a code block with the lines the site shows
                                       (Sphinx's own reader, then the docstring
                                       rule of book/_ext/lrbook_listing.py)
``{code-block}``, ``{math}``           a code block, ``$$ ... $$``
``{note}`` ... ``{admonition}``,       a blockquote headed by the title in bold
``{dropdown}``
``{figure}``, ``{image}``              the image (attached to the cell) and
                                       "**Figure 3.2.** caption"
``{ref}``, ``{numref}``, ``{doc}``     text ("Figure 3.2", a title) linked to the
                                       page on the published site
``(label)=``, ``% comment``, ``+++``   nothing
``{exercise}``, ``{exercise-start}``   a heading "Exercise 3.1", then the text
``{solution}``, ``{solution-start}``   a blockquote headed "Solution to ..."; the
                                       code cells of a gated solution are folded
                                       by tools/colab_copies.py
=====================================  ==========================================

Anything else raises :class:`MystConversionError`, naming the cell and line,
so a chapter that starts using new syntax fails the build of its copy at once
instead of showing raw MyST to readers.
"""

from __future__ import annotations

import ast
import base64
import mimetypes
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from myst_nb.core.variables import format_plain_text
from pygments.lexers import get_lexer_for_filename
from pygments.util import ClassNotFound
from sphinx.directives.code import LiteralIncludeReader

from tools.book_index import (
    ADMONITIONS,
    BookIndex,
    Label,
    Page,
    heading,
    site_extension,
)
from tools.bookconfig import Repository
from tools.myst_syntax import (
    Directive,
    Fence,
    Role,
    Target,
    Text,
    myst_leftovers,
    parse_blocks,
    replace_roles,
)

__all__ = [
    "Context",
    "MystConversionError",
    "convert_markdown",
    "escape_markdown",
    "glue_text",
    "quote",
]


class MystConversionError(ValueError):
    """MyST that has no rule for the reader's copy, or that cannot be resolved."""


@dataclass
class Context:
    """What converting one page needs, and what it carries from cell to cell.

    ``attachments`` collects the images of the cell being converted;
    ``heading_level`` is the level of the last heading (an exercise's heading
    goes one below); ``exercises`` counts the exercises met so far (to find
    their numbers); ``gate_kind`` is ``"exercise"`` or ``"solution"`` between
    an ``{exercise-start}`` or ``{solution-start}`` and its end, else None.
    """

    index: BookIndex
    page: Page
    repository: Repository
    where: str = ""
    attachments: dict[str, dict[str, str]] = field(default_factory=dict)
    heading_level: int = 1
    exercises: int = 0
    gate_kind: str | None = None
    gate_title: str = ""

    def fail(self, line: int | None, message: str) -> MystConversionError:
        at = f"{self.where}, line {line}" if line else self.where
        return MystConversionError(f"{at}: {message}")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$|])")


def escape_markdown(text: str) -> str:
    r"""``text`` escaped so that Markdown shows it as it is.

    Example:
        >>> escape_markdown("a_b costs $5")
        'a\\_b costs \\$5'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def quote(markdown: str) -> str:
    """``markdown`` as a blockquote (every line behind ``> ``)."""
    return "\n".join(
        f"> {line}" if line.strip() else ">" for line in markdown.split("\n")
    )


def _fenced(code: str, language: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip(chr(10))}\n{fence}"


_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.DOTALL)


def _explicit(content: str) -> tuple[str | None, str]:
    """(title or None, target) of a reference role's content ``title <target>``."""
    match = _EXPLICIT.match(content)
    if match and match["text"].strip():
        return match["text"].strip(), match["target"].strip()
    return None, content.strip()


# --------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------


def _glue_data(ctx: Context, key: str, role: Role) -> dict:
    page = ctx.page
    doc, sep, name = key.partition("::")
    if sep:
        where = f"{ctx.where}: {{{role.name}}}`{role.content}`"
        try:
            page = ctx.index.page(
                ctx.index.resolve_doc(doc, ctx.page.docname, where), where
            )
        except KeyError as exc:
            raise MystConversionError(str(exc.args[0])) from None
        key = name
    if key not in page.glue:
        raise ctx.fail(
            None,
            f"{{{role.name}}}`{role.content}` quotes {key!r}, which "
            f"{page.path.name} never glued (glued: {', '.join(sorted(page.glue))})",
        )
    return page.glue[key]


def glue_text(text_plain: str, fmt_spec: str) -> str:
    """A glued value as ``{glue:text}`` shows it on the site (myst-nb's formatter).

    Example:
        >>> glue_text("0.012345", ".1%"), glue_text("1580", ","), glue_text("'x'", "")
        ('1.2%', '1,580', 'x')
    """
    return format_plain_text(text_plain, fmt_spec)


def _role_glue_text(role: Role, ctx: Context) -> str:
    # myst-nb's PasteTextRole: the format is after the last colon.
    key, sep, fmt_spec = role.content.rpartition(":")
    if not sep:
        key, fmt_spec = role.content, "s"
    data = _glue_data(ctx, key, role)["data"]
    if "text/plain" not in data:
        raise ctx.fail(None, f"{{glue:text}}`{role.content}`: the value has no text")
    try:
        return escape_markdown(glue_text(data["text/plain"], fmt_spec))
    except Exception as exc:  # noqa: BLE001 - myst-nb reports any failure the same way
        raise ctx.fail(
            None, f"{{glue:text}}`{role.content}` cannot be formatted: {exc}"
        ) from exc


_QUOTED = re.compile(r"^(['\"]).*\1$", re.DOTALL)
# myst-nb's HTML render priority, restricted to what fits inline in Markdown.
_INLINE_MIMES = ["text/html", "text/markdown", "text/latex", "text/plain"]
_UNSUPPORTED_INLINE = [
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
]


def _role_glue_any(role: Role, ctx: Context) -> str:
    glued = _glue_data(ctx, role.content.strip(), role)
    data, metadata = glued["data"], glued["metadata"]
    for mime in _UNSUPPORTED_INLINE:
        if mime in data:
            raise ctx.fail(
                None,
                f"{{{role.name}}}`{role.content}` pastes {mime}, which has no inline "
                "rule for the reader's copy (glue text, Markdown or HTML instead)",
            )
    mime = next((m for m in _INLINE_MIMES if m in data), None)
    if mime is None:
        raise ctx.fail(None, f"{{{role.name}}}`{role.content}`: nothing to paste")
    value = data[mime]
    if mime == "text/plain":
        if metadata.get("strip_text_quotes", False) and _QUOTED.match(value):
            value = value[1:-1]
        return escape_markdown(value)
    if mime == "text/latex":
        return f"${value.strip().strip('$')}$"
    return value


def _role_glue_md(role: Role, ctx: Context) -> str:
    key, sep, fmt = role.content.rpartition(":")
    if not sep:
        key, fmt = role.content, "commonmark"
    data = _glue_data(ctx, key, role)["data"]
    if "text/markdown" not in data:
        raise ctx.fail(None, f"{{glue:md}}`{role.content}`: the value has no Markdown")
    value = data["text/markdown"]
    return _inline(value, ctx) if fmt == "myst" else value


def _link(text: str, label: Label, ctx: Context) -> str:
    url = ctx.repository.page_url(label.docname, label.anchor)
    return f"[{text}]({url})"


def _label(role: Role, target: str, ctx: Context) -> Label:
    try:
        return ctx.index.label(target, ctx.where)
    except KeyError as exc:
        raise MystConversionError(
            f"{exc.args[0]} ({{{role.name}}}`{role.content}`)"
        ) from None


def _in_page(markdown: str, docname: str, ctx: Context) -> str:
    """Markdown of page ``docname`` (a title, a caption), converted in that page."""
    other = Context(
        ctx.index,
        ctx.index.pages[docname],
        ctx.repository,
        where=f"{docname} (quoted by {ctx.where})",
    )
    return _inline(markdown, other)


def _role_ref(role: Role, ctx: Context) -> str:
    text, target = _explicit(role.content)
    label = _label(role, target, ctx)
    if text is None:
        if label.kind in ("section", "figure") and label.title:
            text = _in_page(label.title, label.docname, ctx)
        elif label.kind == "exercise" and label.number:
            text = f"Exercise {label.number}"
        else:
            raise ctx.fail(
                None,
                f"{{ref}}`{role.content}` points to a label that is not on a "
                "heading, a captioned figure or a numbered exercise: give it a "
                "title ({ref}`the title <label>`)",
            )
    else:
        text = _inline(text, ctx)
    return _link(text, label, ctx)


_NUMREF_DEFAULT = {"figure": "Figure {number}", "exercise": "Exercise {number}"}


def _role_numref(role: Role, ctx: Context) -> str:
    text, target = _explicit(role.content)
    label = _label(role, target, ctx)
    if label.number is None or label.kind not in _NUMREF_DEFAULT:
        raise ctx.fail(
            None,
            f"{{numref}}`{role.content}` points to {label.name!r}, which has no "
            "number (only named figures and numbered exercises have one)",
        )
    title = _in_page(label.title, label.docname, ctx) if label.title else ""
    if text is None:
        text = _NUMREF_DEFAULT[label.kind]
    text = text.replace("%s", "{number}")
    text = text.replace("{number}", label.number).replace("{name}", title)
    return _link(_inline(text, ctx), label, ctx)


def _role_doc(role: Role, ctx: Context) -> str:
    text, target = _explicit(role.content)
    try:
        docname = ctx.index.resolve_doc(target, ctx.page.docname, ctx.where)
    except KeyError as exc:
        raise MystConversionError(f"{exc.args[0]} ({{doc}}`{role.content}`)") from None
    page = ctx.index.pages[docname]
    if text is None:
        if not page.title:
            raise ctx.fail(None, f"{{doc}}`{role.content}`: {docname} has no title")
        text = _in_page(page.title, docname, ctx)
    else:
        text = _inline(text, ctx)
    return f"[{text}]({ctx.repository.page_url(docname)})"


ROLES: dict[str, Callable[[Role, Context], str]] = {
    "glue:text": _role_glue_text,
    "glue": _role_glue_any,
    "glue:": _role_glue_any,
    "glue:any": _role_glue_any,
    "glue:md": _role_glue_md,
    "ref": _role_ref,
    "numref": _role_numref,
    "doc": _role_doc,
    "math": lambda role, ctx: f"${role.content}$",
    "sub": lambda role, ctx: f"<sub>{role.content}</sub>",
    "sup": lambda role, ctx: f"<sup>{role.content}</sup>",
    "kbd": lambda role, ctx: f"<kbd>{role.content}</kbd>",
}


def _inline(text: str, ctx: Context) -> str:
    def convert(role: Role) -> str:
        rule = ROLES.get(role.name)
        if rule is None:
            raise ctx.fail(
                None,
                f"the role {{{role.name}}}`{role.content}` has no conversion rule for "
                f"the reader's copy (known roles: {', '.join(sorted(ROLES))}); add "
                "one to tools/myst_to_markdown.py or write it differently",
            )
        return rule(role, ctx)

    return replace_roles(text, convert)


# --------------------------------------------------------------------------
# Directives
# --------------------------------------------------------------------------


def _check_options(block: Directive, allowed: set[str], ctx: Context) -> None:
    unknown = sorted(set(block.options) - allowed)
    if unknown:
        raise ctx.fail(
            block.line,
            f"the option(s) {', '.join(':' + o + ':' for o in unknown)} of "
            f"{{{block.name}}} have no conversion rule for the reader's copy "
            f"(known: {', '.join(sorted(allowed)) or 'none'})",
        )


_ADMONITION_OPTIONS = {"class", "name"}
_DROPDOWN_OPTIONS = _ADMONITION_OPTIONS | {
    "open",
    "color",
    "icon",
    "animate",
    "chevron",
    "margin",
    "class-container",
    "class-title",
    "class-body",
}


def _admonition(block: Directive, ctx: Context) -> str:
    if block.name in ADMONITIONS:
        _check_options(block, _ADMONITION_OPTIONS, ctx)
        title = ADMONITIONS[block.name]
        body = "\n".join(p for p in (block.argument, block.body) if p)
    elif block.name == "admonition":
        _check_options(block, _ADMONITION_OPTIONS, ctx)
        if not block.argument:
            raise ctx.fail(block.line, "{admonition} needs a title after its name")
        title, body = _inline(block.argument, ctx), block.body
    else:  # dropdown
        _check_options(block, _DROPDOWN_OPTIONS, ctx)
        title, body = _inline(block.argument, ctx) or "Details", block.body
    inner = _convert(body, ctx)
    return quote(f"**{title}**" + (f"\n\n{inner}" if inner else ""))


_LITERALINCLUDE_DISPLAY = {
    "linenos",
    "lineno-start",
    "lineno-match",
    "emphasize-lines",
    "force",
    "class",
    "name",
    "caption",
    "language",
}


def _resolve_path(argument: str, ctx: Context, block: Directive) -> Path:
    """A file path of a directive, as Sphinx resolves it (``/`` = the book root)."""
    if not argument:
        raise ctx.fail(block.line, f"{{{block.name}}} needs a file name")
    if argument.startswith("/"):
        path = ctx.index.root / argument.lstrip("/")
    else:
        path = ctx.page.path.parent / argument
    if not path.exists():
        raise ctx.fail(
            block.line, f"{{{block.name}}} includes {argument!r}: {path} does not exist"
        )
    return path


def _language(path: Path) -> str:
    try:
        return get_lexer_for_filename(path.name).aliases[0]
    except ClassNotFound:
        return ""


def _literalinclude(block: Directive, ctx: Context) -> str:
    listing = site_extension("lrbook_listing")
    spec = listing.ListingInclude.option_spec
    unknown = sorted(set(block.options) - set(spec))
    if unknown:
        raise ctx.fail(
            block.line,
            f"{{literalinclude}} has no option(s) {unknown} (Sphinx knows: "
            f"{', '.join(sorted(spec))})",
        )
    options = {}
    for key, raw in block.options.items():
        try:
            options[key] = spec[key](raw)
        except (ValueError, TypeError) as exc:
            raise ctx.fail(
                block.line, f"{{literalinclude}} :{key}: {raw!r}: {exc}"
            ) from exc
    path = _resolve_path(block.argument, ctx, block)
    keep_docstrings = "docstring" in options
    options.pop("docstring", None)
    try:
        reader = LiteralIncludeReader(
            str(path), options, SimpleNamespace(source_encoding="utf-8-sig")
        )
        code, _ = reader.read(location=(str(ctx.page.path), block.line))
    except Exception as exc:  # noqa: BLE001 - Sphinx raises several kinds
        raise ctx.fail(
            block.line, f"{{literalinclude}} {block.argument}: {exc}"
        ) from exc
    if "pyobject" in options and not keep_docstrings:
        code = listing.without_docstrings(code)
    language = options.get("language") or (
        "udiff" if "diff" in options else _language(path)
    )
    caption = options.get("caption")
    fenced = _fenced(code, language)
    return f"**{_inline(caption, ctx)}**\n\n{fenced}" if caption else fenced


_CODE_BLOCK_OPTIONS = {
    "linenos",
    "lineno-start",
    "emphasize-lines",
    "caption",
    "name",
    "dedent",
    "force",
    "class",
}


def _code_block(block: Directive, ctx: Context) -> str:
    _check_options(block, _CODE_BLOCK_OPTIONS, ctx)
    code = block.body
    if "dedent" in block.options:
        amount = block.options["dedent"]
        code = (
            textwrap.dedent(code)
            if amount is None
            else "\n".join(line[int(amount) :] for line in code.split("\n"))
        )
    fenced = _fenced(code, block.argument)
    caption = block.options.get("caption")
    return f"**{_inline(caption, ctx)}**\n\n{fenced}" if caption else fenced


def _math(block: Directive, ctx: Context) -> str:
    _check_options(block, {"label", "name", "class", "nowrap"}, ctx)
    return f"$$\n{block.body}\n$$"


_IMAGE_OPTIONS = {
    "alt",
    "width",
    "height",
    "scale",
    "align",
    "target",
    "name",
    "class",
    "loading",
}
_FIGURE_OPTIONS = _IMAGE_OPTIONS | {"figwidth", "figclass"}


def _image_markdown(block: Directive, alt: str, ctx: Context) -> str:
    source = block.argument
    if re.match(r"^[a-z]+://", source):
        return f"![{escape_markdown(alt)}]({source})"
    path = _resolve_path(source, ctx, block)
    mime = mimetypes.guess_type(path.name)[0]
    if not mime or not mime.startswith("image/"):
        raise ctx.fail(block.line, f"{{{block.name}}} {source}: not an image file")
    name = path.name
    ctx.attachments[name] = {mime: base64.b64encode(path.read_bytes()).decode("ascii")}
    return f"![{escape_markdown(alt)}](attachment:{name})"


def _image(block: Directive, ctx: Context) -> str:
    _check_options(block, _IMAGE_OPTIONS, ctx)
    return _image_markdown(block, block.options.get("alt") or "", ctx)


def _figure(block: Directive, ctx: Context) -> str:
    _check_options(block, _FIGURE_OPTIONS, ctx)
    caption, _, legend = block.body.partition("\n\n")
    caption = _inline(caption.strip(), ctx)
    alt = block.options.get("alt") or site_extension("lrbook_site").leading_sentences(
        caption
    )
    image = _image_markdown(block, alt, ctx)
    number = None
    if block.options.get("name"):
        number = ctx.index.label(block.options["name"], ctx.where).number
    parts = [image, figure_caption(caption, number)]
    if legend.strip():
        parts.append(_convert(legend, ctx))
    return "\n\n".join(parts)


def figure_caption(caption_markdown: str, number: str | None) -> str:
    """A figure's caption line: "**Figure 3.2.** caption" ("**Figure.**" unnumbered)."""
    head = f"**Figure {number}.**" if number else "**Figure.**"
    return f"{head} {caption_markdown}".rstrip()


def _next_exercise(block: Directive, ctx: Context):
    if ctx.exercises >= len(ctx.page.exercises):
        raise ctx.fail(block.line, "an exercise the book's index did not see")
    exercise = ctx.page.exercises[ctx.exercises]
    ctx.exercises += 1
    return exercise


def _exercise_title(number: str | None, subtitle: str, ctx: Context) -> str:
    title = f"Exercise {number}" if number else "Exercise"
    return f"{title} ({_inline(subtitle, ctx)})" if subtitle else title


def _exercise(block: Directive, ctx: Context) -> str:
    _check_options(block, {"label", "class", "nonumber", "hidden"}, ctx)
    exercise = _next_exercise(block, ctx)
    if exercise.hidden:
        if block.name == "exercise-start":
            raise ctx.fail(block.line, "a hidden gated exercise has no rule")
        return ""
    level = min(6, ctx.heading_level + 1)
    head = "#" * level + " " + _exercise_title(exercise.number, exercise.subtitle, ctx)
    if block.name == "exercise-start":
        if ctx.gate_kind is not None:
            raise ctx.fail(
                block.line, f"{{exercise-start}} inside an open {ctx.gate_kind}"
            )
        ctx.gate_kind = "exercise"
        return head + (f"\n\n{_convert(block.body, ctx)}" if block.body else "")
    body = _convert(block.body, ctx)
    return head + (f"\n\n{body}" if body else "")


def solution_title(block: Directive, ctx: Context) -> str:
    """ "Solution to Exercise 3.1 (subtitle)", as sphinx-exercise titles a solution."""
    if not block.argument:
        raise ctx.fail(block.line, f"{{{block.name}}} needs the label of its exercise")
    label = _label(Role(block.name, block.argument, 0, 0), block.argument, ctx)
    if label.kind != "exercise":
        raise ctx.fail(
            block.line, f"{{{block.name}}} {block.argument}: not an exercise"
        )
    return "Solution to " + _exercise_title(label.number, label.title, ctx)


def _solution(block: Directive, ctx: Context) -> str:
    _check_options(block, {"label", "class", "hidden"}, ctx)
    if "hidden" in block.options:
        if block.name == "solution-start":
            raise ctx.fail(block.line, "a hidden gated solution has no rule")
        return ""
    title = solution_title(block, ctx)
    if block.name == "solution-start":
        if ctx.gate_kind is not None:
            raise ctx.fail(
                block.line, f"{{solution-start}} inside an open {ctx.gate_kind}"
            )
        ctx.gate_kind, ctx.gate_title = "solution", title
    body = _convert(block.body, ctx) if block.body else ""
    return quote(f"**{title}**" + (f"\n\n{body}" if body else ""))


def _gate_end(kind: str) -> Callable[[Directive, Context], str]:
    def end(block: Directive, ctx: Context) -> str:
        _check_options(block, set(), ctx)
        if ctx.gate_kind != kind:
            raise ctx.fail(
                block.line, f"{{{block.name}}} without an open {{{kind}-start}}"
            )
        ctx.gate_kind, ctx.gate_title = None, ""
        return ""

    return end


DIRECTIVES: dict[str, Callable[[Directive, Context], str]] = {
    **{name: _admonition for name in ADMONITIONS},
    "admonition": _admonition,
    "dropdown": _admonition,
    "literalinclude": _literalinclude,
    "code-block": _code_block,
    "code": _code_block,
    "sourcecode": _code_block,
    "math": _math,
    "figure": _figure,
    "image": _image,
    "exercise": _exercise,
    "exercise-start": _exercise,
    "exercise-end": _gate_end("exercise"),
    "solution": _solution,
    "solution-start": _solution,
    "solution-end": _gate_end("solution"),
}


# --------------------------------------------------------------------------
# Whole texts
# --------------------------------------------------------------------------


def _text(block: Text, ctx: Context) -> str:
    for line in block.lines:
        found = heading(line)
        if found:
            ctx.heading_level = found[0]
    return _inline("\n".join(block.lines), ctx).strip("\n")


def _convert(text: str, ctx: Context) -> str:
    # (markdown, quoted as solution): consecutive pieces of one gated solution
    # join into one blockquote.
    pieces: list[tuple[str, bool]] = []
    for block in parse_blocks(text, ctx.where):
        if isinstance(block, Target):
            continue
        in_solution = ctx.gate_kind == "solution"
        quoted = in_solution
        if isinstance(block, Fence):
            piece = "\n".join(block.lines)
        elif isinstance(block, Text):
            piece = _text(block, ctx)
        else:
            rule = DIRECTIVES.get(block.name)
            if rule is None:
                raise ctx.fail(
                    block.line,
                    f"the directive {{{block.name}}} has no conversion rule for the "
                    f"reader's copy (known: {', '.join(sorted(DIRECTIVES))}); add one "
                    "to tools/myst_to_markdown.py or write it differently",
                )
            piece = rule(block, ctx)
            if block.name in ("solution", "solution-start", "solution-end"):
                in_solution = False  # the rule quoted (or ended) it already
                quoted = block.name != "solution-end"
            if block.indent and piece:
                piece = textwrap.indent(piece, block.indent)
        if not piece.strip():
            continue
        if in_solution:
            piece = quote(piece)
        if quoted and pieces and pieces[-1][1] and ctx.gate_kind == "solution":
            pieces[-1] = (pieces[-1][0] + "\n>\n" + piece, True)
        else:
            pieces.append((piece, quoted))
    return "\n\n".join(piece for piece, _ in pieces)


def convert_markdown(text: str, ctx: Context) -> str:
    """The plain Markdown of a cell's (or page's) MyST ``text``.

    Args:
        text: the MyST Markdown.
        ctx: the page being converted; :attr:`Context.where` should name the cell.

    Returns:
        Markdown with no MyST left; images it shows are in ``ctx.attachments``.

    Raises:
        MystConversionError: a directive, role or option has no rule, a
            reference or glued name cannot be resolved, or MyST is left over.
    """
    markdown = _convert(text, ctx)
    left = myst_leftovers(markdown)
    if left:
        raise ctx.fail(
            None,
            "MyST left in the reader's copy after conversion: " + "; ".join(left),
        )
    return markdown


def calls_in(source: str) -> list[str]:
    """Names of the functions a cell calls at its top level, in order, once each.

    ``np.testing.assert_allclose(...)`` counts as ``assert_allclose``; an
    ``assert`` statement as ``assert``. Empty when the source is not plain
    Python (magics).

    Example:
        >>> calls_in("glue('x', f(1))\\nassert x > 0\\nclaim('y', True)")
        ['glue', 'assert', 'claim']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assert):
            found = "assert"
        else:
            value = getattr(statement, "value", None)
            if not isinstance(value, ast.Call):
                continue
            func = value.func
            found = (
                func.attr
                if isinstance(func, ast.Attribute)
                else getattr(func, "id", "")
            )
        if found and found not in names:
            names.append(found)
    return names
