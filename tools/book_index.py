"""What the site knows about the whole book before it renders a page.

A reader's copy turns cross-references into text ("Figure 3.2", a section's
title) and glued names into values, so it needs what Sphinx collects from
every page first: the labels and what they name, the numbers of figures and
exercises, the title of every page and the values each notebook glued.
:func:`index_book` reads them from the book's sources, following the site's
rules:

* figures and exercises are numbered per page, in page order, from 1, with
  the chapter number in front on pages whose file name starts with one
  (``Fig. 3.2``): the rule of ``book/_ext/lrbook_site.py``, whose
  :func:`chapter_number` is used here;
* only a figure with a name (``mystnb.figure.name`` of a code cell, ``:name:``
  of a ``{figure}``) gets a number, as in Sphinx;
* labels are matched as docutils matches them (case and runs of whitespace
  do not count) and link to the id Sphinx gives their target.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from types import ModuleType

import nbformat
from docutils import nodes
from myst_nb.ext.glue import GLUE_PREFIX

from tools.bookconfig import ROOT, toc_files
from tools.myst_syntax import Directive, Target, Text, parse_blocks

__all__ = [
    "ADMONITIONS",
    "GLUE_PREFIX",
    "BookIndex",
    "Exercise",
    "Label",
    "Page",
    "glue_outputs",
    "heading",
    "index_book",
    "normalize_label",
    "site_extension",
]

# Directives whose body is Markdown that may hold labels, figures or exercises.
ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "attention": "Attention",
    "caution": "Caution",
    "warning": "Warning",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
}
TITLED_CONTAINERS = {"admonition", "dropdown"}
EXERCISES = {"exercise", "exercise-start"}
SOLUTIONS = {"solution", "solution-start"}
MARKDOWN_BODIES = set(ADMONITIONS) | TITLED_CONTAINERS | {"exercise", "solution"}

_HEADING = re.compile(
    r"^ {0,3}(?P<marks>#{1,6})[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*$"
)


def heading(line: str) -> tuple[int, str] | None:
    """(level, title) when ``line`` is an ATX heading (``## Title``), else None."""
    match = _HEADING.match(line)
    return (len(match["marks"]), match["title"]) if match else None


def normalize_label(label: str) -> str:
    """A label as docutils compares it: lowercase, whitespace runs made one space."""
    return nodes.fully_normalize_name(label)


@cache
def site_extension(name: str) -> ModuleType:
    """The site's own Sphinx extension ``book/_ext/<name>.py``, whose rules the
    copies follow (``lrbook_site``: numbering; ``lrbook_listing``: listings).
    """
    path = ROOT / "book" / "_ext" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_{name}_for_copies", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def number_text(docname: str, index: int) -> str:
    """The site's number of the ``index``-th (1-based) numbered item of a page."""
    chapter = site_extension("lrbook_site").chapter_number(docname)
    return str(index) if chapter is None else f"{chapter}.{index}"


@dataclass(frozen=True)
class Label:
    """A name that ``{ref}``, ``{numref}`` and solutions can point to.

    ``kind`` is ``section``, ``figure``, ``exercise`` or ``other``; ``title``
    the Markdown Sphinx would use as link text (a section's title, a figure's
    caption, an exercise's subtitle); ``number`` the site's number, if any.
    """

    name: str
    docname: str
    anchor: str
    kind: str
    title: str = ""
    number: str | None = None


@dataclass(frozen=True)
class Exercise:
    """One exercise of a page, in order: its label, number and subtitle."""

    label: str | None
    number: str | None
    subtitle: str
    hidden: bool


@dataclass
class Page:
    """One page of the book: a notebook or a Markdown file."""

    docname: str
    path: Path
    title: str = ""
    glue: dict[str, dict] = field(default_factory=dict)
    exercises: list[Exercise] = field(default_factory=list)


def glue_outputs(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """The values a notebook glued: ``{name: {"data": ..., "metadata": ...}}``.

    The mime types lose myst-nb's record prefix. When a name is glued twice
    the last value counts, as in myst-nb.
    """
    found: dict[str, dict] = {}
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            prefix = record.get("mime_prefix", "")
            data = {
                key[len(prefix) :]: value
                for key, value in output.get("data", {}).items()
                if key.startswith(prefix)
            }
            found[record["name"]] = {"data": data, "metadata": output["metadata"]}
    return found


@dataclass
class BookIndex:
    """Every page and label of the book whose sources are under ``root``."""

    root: Path
    pages: dict[str, Page]
    labels: dict[str, Label]

    def page(self, docname: str, where: str) -> Page:
        """The page ``docname``.

        Raises:
            KeyError: the table of contents has no such page.
        """
        if docname not in self.pages:
            raise KeyError(
                f"{where}: no page {docname!r} in the table of contents "
                f"(pages: {', '.join(self.pages)})"
            )
        return self.pages[docname]

    def label(self, name: str, where: str) -> Label:
        """The label ``name`` (compared as docutils compares names).

        Raises:
            KeyError: no page of the book defines it.
        """
        found = self.labels.get(normalize_label(name))
        if found is None:
            raise KeyError(f"{where}: no label {name!r} is defined in the book")
        return found

    def resolve_doc(self, target: str, from_docname: str, where: str) -> str:
        """The docname a ``{doc}`` target names, seen from page ``from_docname``."""
        target = re.sub(r"\.(ipynb|md)$", "", target.strip())
        if target.startswith("/"):
            resolved = PurePosixPath(target.lstrip("/"))
        else:
            resolved = PurePosixPath(from_docname).parent / target
        parts: list[str] = []
        for part in resolved.parts:
            if part == "..":
                if not parts:
                    raise KeyError(f"{where}: {target!r} leaves the book's folder")
                parts.pop()
            elif part != ".":
                parts.append(part)
        docname = "/".join(parts)
        self.page(docname, where)
        return docname


def _source_path(root: Path, docname: str) -> Path:
    for suffix in (".ipynb", ".md"):
        path = root / f"{docname}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(
        f"the table of contents lists {docname!r}, but neither {docname}.ipynb "
        f"nor {docname}.md exists under {root}"
    )


class _Collector:
    """Walks one page's Markdown and code cells in order, as the site reads it."""

    def __init__(self, page: Page, labels: dict[str, Label]) -> None:
        self.page = page
        self.labels = labels
        self.figures = 0
        self.exercises = 0

    def add(self, label: Label, where: str) -> None:
        known = self.labels.get(label.name)
        if known is not None:
            raise ValueError(
                f"{where}: the label {label.name!r} is defined twice (also on "
                f"{known.docname})"
            )
        self.labels[label.name] = label

    def figure(self, name: str | None, caption: str, where: str) -> None:
        if not name:
            return
        self.figures += 1
        label = normalize_label(name)
        number = number_text(self.page.docname, self.figures)
        self.add(
            Label(
                label,
                self.page.docname,
                nodes.make_id(label),
                "figure",
                caption,
                number,
            ),
            where,
        )

    def markdown(self, text: str, where: str) -> None:
        blocks = parse_blocks(text, where)
        for position, block in enumerate(blocks):
            if isinstance(block, Text):
                for line in block.lines:
                    found = heading(line)
                    if found and not self.page.title:
                        self.page.title = found[1]
            elif isinstance(block, Target):
                following = blocks[position + 1] if position + 1 < len(blocks) else None
                title = ""
                if isinstance(following, Text):
                    first = next((ln for ln in following.lines if ln.strip()), "")
                    found = heading(first)
                    title = found[1] if found else ""
                name = normalize_label(block.label)
                self.add(
                    Label(
                        name,
                        self.page.docname,
                        nodes.make_id(name),
                        "section" if title else "other",
                        title,
                    ),
                    f"{where}, line {block.line}",
                )
            elif isinstance(block, Directive):
                self.directive(block, f"{where}, line {block.line}")

    def directive(self, block: Directive, where: str) -> None:
        if block.name == "figure":
            caption = block.body.split("\n\n", 1)[0].strip()
            self.figure(block.options.get("name"), caption, where)
            return
        if block.name in EXERCISES:
            hidden = "hidden" in block.options
            numbered = "nonumber" not in block.options and not hidden
            if numbered:
                self.exercises += 1
            number = (
                number_text(self.page.docname, self.exercises) if numbered else None
            )
            label = block.options.get("label")
            self.page.exercises.append(Exercise(label, number, block.argument, hidden))
            if label:
                self.add(
                    Label(
                        label,
                        self.page.docname,
                        label,
                        "exercise",
                        block.argument,
                        number,
                    ),
                    where,
                )
        elif block.name in SOLUTIONS and block.options.get("label"):
            label = block.options["label"]
            self.add(Label(label, self.page.docname, label, "other"), where)
        elif block.options.get("name"):
            name = normalize_label(block.options["name"])
            self.add(
                Label(name, self.page.docname, nodes.make_id(name), "other"), where
            )
        if block.name in MARKDOWN_BODIES:
            self.markdown(block.body, where)


def index_book(root: Path = ROOT, toc: Path | None = None) -> BookIndex:
    """Read every page of the book under ``root``, in table-of-contents order.

    Args:
        root: the folder holding the table of contents and the pages (the
            repository, or the staging copy ``make site`` executes into).
        toc: the table of contents; default ``root/_toc.yml``.

    Returns:
        The pages (title, glued values, exercises) and the labels of the book.

    Raises:
        FileNotFoundError: a page of the table of contents does not exist.
        ValueError: a label is defined twice.
    """
    labels: dict[str, Label] = {}
    pages: dict[str, Page] = {}
    for docname in toc_files(toc or root / "_toc.yml"):
        path = _source_path(root, docname)
        page = Page(docname, path)
        collector = _Collector(page, labels)
        where = str(path.relative_to(root))
        if path.suffix == ".md":
            collector.markdown(path.read_text(encoding="utf-8"), where)
        else:
            nb = nbformat.read(path, as_version=4)
            page.glue = glue_outputs(nb)
            for number, cell in enumerate(nb.cells):
                here = f"{where}, cell {number}"
                if cell.cell_type == "markdown":
                    collector.markdown(cell.source, here)
                elif cell.cell_type == "code":
                    figure = cell.metadata.get("mystnb", {}).get("figure") or {}
                    if figure:
                        collector.figure(
                            figure.get("name"), figure.get("caption", ""), here
                        )
        pages[docname] = page
    return BookIndex(root, pages, labels)
