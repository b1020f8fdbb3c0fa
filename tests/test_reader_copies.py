"""The reader's copy of every chapter, made from the committed (executed) book.

Each copy must read in plain Jupyter as the chapter reads on the site: no
MyST left, every glued name shown as its value in the site's format, every
code cell of the chapter present in order (the folded ones as Colab forms and
with their source hidden in JupyterLab), figures captioned with the site's
numbers, links to pages and ids of the published site, and a first cell that
installs lrlib at a commit and nothing else. The copies' execution is
tests/test_reader_copies_run.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from myst_nb.core.variables import format_plain_text

from lrlib.book.claims import BOOK_RUN_PREFIX
from tools import colab
from tools.book_index import GLUE_PREFIX, index_book
from tools.bookconfig import ROOT, chapter_notebooks, repository, toc_files
from tools.colab_copies import COLLAPSE_TAGS, write_copies
from tools.myst_syntax import (
    Directive,
    Fence,
    Text,
    find_roles,
    myst_leftovers,
    parse_blocks,
)
from tools.myst_to_markdown import escape_markdown

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
CHAPTERS = [p.relative_to(ROOT).with_suffix("").as_posix() for p in chapter_notebooks()]


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    out = tmp_path_factory.mktemp("copies")
    written = write_copies(ROOT, out, COMMIT)
    return {
        p.relative_to(out).with_suffix("").as_posix(): nbformat.read(p, as_version=4)
        for p in written
    }


def source(docname: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / f"{docname}.ipynb", as_version=4)


def prose(markdown: str) -> list[str]:
    """The Markdown texts of a cell, directive bodies included."""
    texts = []
    for block in parse_blocks(markdown):
        if isinstance(block, Text):
            texts.append("\n".join(block.lines))
        elif isinstance(block, Directive):
            texts += prose(block.body)
    return texts


def test_every_chapter_has_a_copy(copies):
    assert list(copies) == CHAPTERS
    # Every notebook page of the table of contents: the chapters and any
    # appendix written as a notebook (book/appendix_schedulers).
    assert len(CHAPTERS) == len(
        [f for f in toc_files() if (ROOT / f"{f}.ipynb").exists()]
    )
    assert sum(f.split("/")[-1][:2].isdigit() for f in toc_files()) >= 10


@pytest.mark.parametrize("docname", CHAPTERS)
def test_no_myst_is_left(copies, docname):
    for number, cell in enumerate(copies[docname].cells):
        texts = [cell.source] if cell.cell_type == "markdown" else []
        texts += [
            o.data["text/markdown"]
            for o in cell.get("outputs", [])
            if "text/markdown" in o.get("data", {})
        ]
        for text in texts:
            assert myst_leftovers(text) == [], f"{docname}, copy cell {number}"
            assert "{glue" not in text and not re.search(r"\{(numref|ref|doc)\}`", text)


@pytest.mark.parametrize("docname", CHAPTERS)
def test_glued_names_appear_as_their_values(copies, docname):
    """Each ``{glue:text}`` shows its value as myst-nb formats it on the site."""
    glued = index_book().pages[docname].glue
    text = " ".join(
        "\n".join(c.source for c in copies[docname].cells if c.cell_type == "markdown")
        .replace("\n> ", " ")
        .split()
    )
    checked = 0
    for cell in source(docname).cells:
        texts = prose(cell.source) if cell.cell_type == "markdown" else []
        for markdown in texts:
            for role in find_roles(markdown):
                if role.name != "glue:text":
                    continue
                key, sep, spec = role.content.rpartition(":")
                key, spec = (key, spec) if sep else (role.content, "s")
                value = format_plain_text(glued[key]["data"]["text/plain"], spec)
                before = re.split(r"[`{}\n\[\]()]", markdown[: role.start])[-1][-20:]
                expected = " ".join((before + escape_markdown(value)).split())
                assert expected in text, (docname, role.content, expected)
                checked += 1
    assert checked == sum(
        len(
            [r for t in prose(c.source) for r in find_roles(t) if r.name == "glue:text"]
        )
        for c in source(docname).cells
        if c.cell_type == "markdown"
    )


def chapter_code_cells(copy):
    """The copy's code cells that come from the chapter: after the install cell
    and, where the chapter checks claims, the folded cell of the book's numbers."""
    cells = [c for c in copy.cells[1:] if c.cell_type == "code"]
    if cells and cells[0].get("id") == "lrbook-book-run":
        cells = cells[1:]
    return cells


@pytest.mark.parametrize("docname", CHAPTERS)
def test_the_book_s_numbers_come_second_where_the_chapter_checks_claims(
    copies, docname
):
    glued = index_book().pages[docname].glue
    claims = [name for name in glued if name.startswith(BOOK_RUN_PREFIX)]
    ids = [c.get("id") for c in copies[docname].cells]
    assert ids.count("lrbook-book-run") == (1 if claims else 0)
    if claims:
        remember = copies[docname].cells[1]
        assert remember.get("id") == "lrbook-book-run"
        assert remember.metadata.get("cellView") == "form"
        assert remember.source.startswith("# @title The book's own numbers")
        statements = {
            json.loads(glued[name]["data"]["text/plain"])["statement"]
            for name in claims
        }
        assert all(json.dumps(s) + ": {" in remember.source for s in statements)
        assert remember.source.count(": {") == len(statements)


@pytest.mark.parametrize("docname", CHAPTERS)
def test_every_code_cell_is_present_in_order(copies, docname):
    cells = source(docname).cells
    ours = chapter_code_cells(copies[docname])
    theirs = [
        c
        for i, c in enumerate(cells)
        if c.cell_type == "code" and not (i == 0 and colab.is_bootstrap(c))
    ]
    unfolded = [
        c.source.split("\n", 1)[1] if c.metadata.get("cellView") == "form" else c.source
        for c in ours
    ]
    assert unfolded == [c.source for c in theirs]


def in_solutions(nb) -> list[bool]:
    """For each code cell, in order: is it inside a gated solution
    (``{solution-start}`` ... ``{solution-end}``), whose code the copy folds?"""
    inside, flags = False, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            start = cell.source.rfind("{solution-start}")
            end = cell.source.rfind("{solution-end}")
            if start != -1 or end != -1:
                inside = start > end
        else:
            flags.append(inside)
    return flags


@pytest.mark.parametrize("docname", CHAPTERS)
def test_folded_cells_carry_both_forms(copies, docname):
    cells = chapter_code_cells(copies[docname])
    theirs = [c for c in source(docname).cells if c.cell_type == "code"][1:]
    gated = in_solutions(source(docname))[1:]
    folded = 0
    for ours, original, solution in zip(cells, theirs, gated, strict=True):
        tagged = bool(set(original.metadata.get("tags", [])) & set(COLLAPSE_TAGS))
        is_form = ours.metadata.get("cellView") == "form"
        assert is_form == (tagged or solution), ours.source[:80]
        if is_form:
            title, _, rest = ours.source.partition("\n")
            assert re.fullmatch(r"# @title \S.{0,71}", title), title
            assert ours.metadata["jupyter"]["source_hidden"] is True
            folded += 1
    assert folded == sum(
        bool(set(c.metadata.get("tags", [])) & set(COLLAPSE_TAGS)) or solution
        for c, solution in zip(theirs, gated, strict=True)
    )


@pytest.mark.parametrize("docname", CHAPTERS)
def test_install_cell_pins_a_commit_and_nothing_else(copies, docname):
    first = copies[docname].cells[0]
    assert colab.installed_commit(first) == COMMIT
    commands = [line for line in first.source.split("\n") if not line.startswith("#")]
    assert commands == [
        f'%pip install --quiet "lrlib[notebooks] @ git+{repository().url}@{COMMIT}"'
    ]
    assert re.fullmatch(r"[0-9a-f]{40}", colab.installed_commit(first))
    assert copies[docname].metadata["lrbook"]["commit"] == COMMIT


@pytest.mark.parametrize("docname", CHAPTERS)
def test_no_glue_records_are_left(copies, docname):
    for cell in copies[docname].cells:
        for output in cell.get("outputs", []):
            assert not any(
                key.startswith(GLUE_PREFIX) for key in output.get("data", {})
            )


@pytest.mark.parametrize("docname", CHAPTERS)
def test_figures_are_captioned_with_the_sites_numbers(copies, docname):
    prefix = Path(docname).name[:2]  # a page without a chapter number counts from 1
    chapter = f"{int(prefix)}." if prefix.isdigit() else ""
    named = [
        c.metadata["mystnb"]["figure"]
        for c in source(docname).cells
        if c.cell_type == "code"
        and c.metadata.get("mystnb", {}).get("figure", {}).get("name")
    ]
    captions = [
        c.source
        for c in copies[docname].cells
        if c.cell_type == "markdown" and c.source.startswith("**Figure ")
    ]
    assert [c.split("**")[1] for c in captions] == [
        f"Figure {chapter}{k}." for k in range(1, len(named) + 1)
    ]
    for caption, figure in zip(captions, named, strict=True):
        words = figure["caption"].split("{")[0].split()[:6]
        assert " ".join(words) in " ".join(caption.split())


def test_links_point_to_pages_and_ids_of_the_site(copies):
    index = index_book()
    anchors = {(label.docname, label.anchor) for label in index.labels.values()}
    site = repository().site_url
    links = 0
    for copy in copies.values():
        for cell in copy.cells:
            for url in re.findall(r"\]\((https?://[^)\s]+)\)", cell.source):
                if not url.startswith(site):
                    continue
                page, _, anchor = url[len(site) :].partition("#")
                docname = page.removesuffix(".html")
                assert docname in index.pages, url
                assert not anchor or (docname, anchor) in anchors, url
                links += 1
    assert links > 0  # the book's {ref} and {doc} roles


def test_listings_are_code_blocks_of_the_listed_files(copies):
    """Each ``literalinclude`` is a code block of lines of its file, in order.

    The block holds the object it names (unless it starts at a given line)
    and, like the site, no docstring unless ``:docstring:`` asks for it.
    """
    count = 0
    for docname in CHAPTERS:
        wanted = [
            block
            for cell in source(docname).cells
            if cell.cell_type == "markdown"
            for block in _directives(cell.source)
            if block.name == "literalinclude"
        ]
        markdown = "\n".join(
            c.source for c in copies[docname].cells if c.cell_type == "markdown"
        )
        markdown = re.sub(r"^> ?", "", markdown, flags=re.M)
        blocks = re.findall(r"^```python\n(.*?)\n```$", markdown, re.M | re.S)
        # Code blocks the chapter writes itself are not listings.
        written = {
            "\n".join(block.lines[1:-1])
            for cell in source(docname).cells
            if cell.cell_type == "markdown"
            for block in parse_blocks(cell.source)
            if isinstance(block, Fence)
        }
        blocks = [b for b in blocks if b not in written]
        assert len(blocks) == len(wanted), docname
        for block, code in zip(wanted, blocks, strict=True):
            path = (ROOT / docname).parent / block.argument
            lines = {line.strip() for line in path.read_text().splitlines()}
            assert all(line.strip() in lines for line in code.splitlines()), path
            name = block.options["pyobject"].split(".")[-1]
            if not any(k.startswith("start") for k in block.options):
                head = "\n".join(code.splitlines()[:3])
                assert re.search(rf"^\s*(class|def) {name}\b", head, re.M), name
            if "docstring" not in block.options:
                assert '"""' not in code, name
            count += 1
    assert count > 0  # every chapter's listings were matched above


def _directives(markdown: str) -> list[Directive]:
    found = []
    for block in parse_blocks(markdown):
        if isinstance(block, Directive):
            found += [block, *_directives(block.body)]
    return found
