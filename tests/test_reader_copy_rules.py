"""The reader's copy's rules, checked against the site the same sources build.

A small fixture book (tests/_copy_fixture.py) uses every construct the copy
converts, including those no chapter uses yet (exercises and solutions, the
``{figure}`` directive, ``{numref}``). It is executed, converted, and built
into a website with the book's own configuration and extensions; the copy
must then show what that site shows: the same glued values, figure and
exercise numbers, listings and solution titles, and links to ids that exist.
The site's launch and download buttons must open the copy.
"""

from __future__ import annotations

import base64
import html
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml

from tests._copy_fixture import CHAPTER, make_book
from tools.bookconfig import ROOT, load_config, repository
from tools.colab import installed_commit
from tools.colab_copies import write_copies
from tools.myst_syntax import Directive, Text, find_roles, parse_blocks
from tools.myst_to_markdown import MystConversionError

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SITE_PAGE = repository().page_url(CHAPTER)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    return make_book(tmp_path_factory.mktemp("fixture-book"))


@pytest.fixture(scope="module")
def copy(book, tmp_path_factory) -> nbformat.NotebookNode:
    (path,) = write_copies(book, tmp_path_factory.mktemp("copies"), COMMIT)
    return nbformat.read(path, as_version=4)


def build_site(book: Path) -> Path:
    """Build ``book`` with the book's configuration and extensions; its html dir."""
    config = load_config()
    config["execute"]["execute_notebooks"] = "off"
    extensions = config["sphinx"]["local_extensions"]
    for name, folder in extensions.items():
        extensions[name] = str(ROOT / folder)
    config["sphinx"]["config"]["html_static_path"] = [str(ROOT / "book" / "_static")]
    config["html"]["favicon"] = str(ROOT / "book" / "_static" / "favicon.svg")
    path = book / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        sys.executable,
        "-c",
        "from jupyter_book.cli.main import main; main()",
        "build",
        str(book),
        "--path-output",
        str(book / "site"),
        "--config",
        str(path),
        "-W",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return book / "site" / "_build" / "html"


@pytest.fixture(scope="module")
def site_page(book) -> str:
    return (build_site(book) / f"{CHAPTER}.html").read_text()


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def markdown_of(nb: nbformat.NotebookNode) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def prose_of(markdown: str) -> list[str]:
    """The Markdown texts of a cell, directive bodies included, in order."""
    texts = []
    for block in parse_blocks(markdown):
        if isinstance(block, Text):
            texts.append("\n".join(block.lines))
        elif isinstance(block, Directive):
            texts += prose_of(block.body)
    return texts


def source_roles(path: Path, name: str) -> list[tuple[str, str]]:
    """(text before, content) of every ``name`` role, in the site's page order."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        texts = prose_of(cell.source) if cell.cell_type == "markdown" else []
        caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
        texts += [caption] if caption else []
        for text in texts:
            for role in find_roles(text):
                if role.name == name:
                    before = re.split(r"[`{}\n]", text[: role.start])[-1][-15:]
                    found.append((before, role.content))
    return found


def test_glued_values_are_the_sites(book, copy, site_page):
    shown = [
        text_of(s) for s in re.findall(r'class="pasted-text">(.*?)</span>', site_page)
    ]
    roles = source_roles(book / f"{CHAPTER}.ipynb", "glue:text")
    assert len(shown) == len(roles) == 7
    text = " ".join(markdown_of(copy).split())
    for (before, content), value in zip(roles, shown, strict=True):
        assert " ".join((before + value).split()) in text, (content, value)
    # The {glue} role pastes the plain text as it is.
    (any_value,) = re.findall(r'class="[^"]*text_plain[^"]*">(.*?)<', site_page)
    assert f"in\nfull, {any_value}." in markdown_of(copy)


def test_figure_and_exercise_numbers_are_the_sites(copy, site_page):
    site = [
        (number.strip(), text_of(caption))
        for number, caption in re.findall(
            r'caption-number">(Fig\. [\d.]+) </span><span class="caption-text">(.*?)'
            r"</span><a",
            site_page,
            re.S,
        )
    ]
    assert [n for n, _ in site] == ["Fig. 3.1", "Fig. 3.2", "Fig. 3.3"]
    ours = re.findall(r"^\*\*Figure ([\d.]+)\.\*\* (.*)$", markdown_of(copy), re.M)
    assert [(f"Fig. {n}", c) for n, c in ours] == site
    titles = [
        text_of(t) for t in re.findall(r'admonition-title">(.*?)</p>', site_page, re.S)
    ]
    exercises = [t for t in titles if t.startswith(("Exercise", "Solution"))]
    assert exercises == [
        "Exercise 3.1 (Predict, then run)",
        "Exercise 3.2",
        "Solution to Exercise 3.2",
        "Solution to Exercise 3.1 (Predict, then run)",
    ]
    ours = re.findall(
        r"^(?:#+ |> \*\*)((?:Exercise|Solution) .*?)(?:\*\*)?$", markdown_of(copy), re.M
    )
    assert ours == exercises


def test_listings_show_the_sites_lines(copy, site_page):
    site = [
        html.unescape(re.sub(r"<[^>]+>", "", block)).rstrip("\n")
        for block in re.findall(
            r'<div class="highlight-default notranslate"[^>]*><div class="highlight">'
            r"<pre>(.*?)</pre>",
            site_page,
            re.S,
        )
    ]
    markdown = markdown_of(copy)
    ours = [
        "\n".join(line.removeprefix("> ").removeprefix(">") for line in m.split("\n"))
        for m in re.findall(r"```python\n(.*?)\n(?:> )?```", markdown, re.S)
    ]
    assert len(site) == 3 and ours == site
    assert '"""' not in ours[1] and '"""' not in ours[2]  # docstrings dropped
    assert '"""The value plus ``by``."""' in ours[0]  # unless :docstring:


def test_links_go_to_ids_that_exist_on_the_site(copy, site_page):
    markdown = markdown_of(copy)
    links = re.findall(r"\]\((https://[^)\s]+)\)", markdown)
    assert len(links) == 7
    site = repository().site_url
    for link in links:
        assert link.startswith(site)
        page, _, anchor = link[len(site) :].partition("#")
        assert page in (f"{CHAPTER}.html", "book/intro.html")
        if anchor:
            assert f'id="{anchor}"' in site_page, link
    assert "[Picture 3.2](" in markdown and "[Figure 3.1](" in markdown
    assert "[The fixture's start](" in markdown  # a {doc} without a title


def test_solutions_and_exercises_take_their_forms(copy):
    cells = copy.cells
    heading = next(c for c in cells if "### Exercise 3.2" in c.source)
    exercise_code = cells[cells.index(heading) + 1]
    assert exercise_code.cell_type == "code"
    assert "cellView" not in exercise_code.metadata  # the reader's code is visible
    solution = next(
        c for c in cells if c.source.startswith("> **Solution to Exercise 3.2")
    )
    assert solution.source.split("\n")[-1].startswith("> Doubling")
    code = cells[cells.index(solution) + 1]
    assert code.source.startswith("# @title Solution to Exercise 3.2\nfactor = 4")
    assert code.metadata["cellView"] == "form"
    assert code.metadata["jupyter"]["source_hidden"] is True
    assert code.outputs[0]["text"] == "12\n"  # its output, as on the site
    after = cells[cells.index(code) + 1]
    assert after.source.startswith("> The printed number is twice the first.\n\n")
    assert "\nAfter the solution" in after.source


def test_figure_directive_attaches_its_image(book, copy):
    cell = next(c for c in copy.cells if "attachment:picture.png" in c.source)
    data = cell.attachments["picture.png"]["image/png"]
    assert base64.b64decode(data) == (book / "book" / "picture.png").read_bytes()
    assert "![A small picture. Its legend comes second.](attachment:picture.png)" in (
        cell.source
    )


def test_install_cell_replaces_the_bootstrap_cell(book, copy):
    source = nbformat.read(book / f"{CHAPTER}.ipynb", as_version=4)
    assert source.cells[0].source.startswith("# Colab setup")
    assert installed_commit(copy.cells[0]) == COMMIT
    assert not any(c.source.startswith("# Colab setup") for c in copy.cells)


def test_site_buttons_open_the_copy(book, site_page):
    config = load_config()["sphinx"]["config"]["lrbook_reader_copies"]
    colab = re.findall(
        r'href="(https://colab\.research\.google\.com/[^"]+)"', site_page
    )
    slug = repository().slug
    assert colab and set(colab) == {
        f"https://colab.research.google.com/github/{slug}/blob/{config['branch']}/"
        f"{CHAPTER}.ipynb"
    }
    assert set(colab) == {repository().colab_url(f"{CHAPTER}.ipynb")}
    downloads = re.findall(r'href="([^"]+\.ipynb)"', site_page)
    local = [d for d in downloads if not d.startswith("https://")]
    assert local == [f"../{config['folder']}/{CHAPTER}.ipynb"]
    assert "_sources/" not in " ".join(downloads)


def test_other_launch_buttons_are_refused():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import lrbook_site
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    from sphinx.errors import ExtensionError

    def app(colab_url: str) -> SimpleNamespace:
        config = SimpleNamespace(
            lrbook_reader_copies={"branch": "colab", "folder": "notebooks"},
            html_theme_options={
                "repository_branch": "main",
                "launch_buttons": {"colab_url": colab_url},
            },
        )
        return SimpleNamespace(config=config)

    def context(url: str) -> dict:
        return {
            "header_buttons": [
                {
                    "label": "launch-buttons",
                    "buttons": [{"type": "link", "text": "Binder", "url": url}],
                }
            ],
            "pathto": lambda name, resource: name,
        }

    binder = context("https://mybinder.org/v2/gh/o/r/main?urlpath=tree/book/x.ipynb")
    with pytest.raises(ExtensionError, match="'Binder' launch button"):
        lrbook_site.point_buttons_to_reader_copies(
            app("https://colab.research.google.com"),
            "book/x",
            "page.html",
            binder,
            None,
        )
    page = context(
        "https://colab.research.google.com/github/o/r/blob/main/book/x.ipynb"
    )
    lrbook_site.point_buttons_to_reader_copies(
        app("https://colab.research.google.com/"), "book/x", "page.html", page, None
    )
    assert page["header_buttons"][0]["buttons"][0]["url"].endswith(
        "/github/o/r/blob/colab/book/x.ipynb"
    )


# --------------------------------------------------------------------------
# MyST without a rule, or that does not resolve, fails loudly
# --------------------------------------------------------------------------


def one_page_book(folder: Path, *cells: nbformat.NotebookNode) -> Path:
    (folder / "book").mkdir(parents=True)
    (folder / "_toc.yml").write_text(
        yaml.safe_dump({"format": "jb-book", "root": "book/01_page"})
    )
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nbformat.write(nb, folder / "book" / "01_page.ipynb")
    return folder


@pytest.mark.parametrize(
    "markdown, message",
    [
        ("```{margin}\nA side note.\n```", r"cell 0, line 1: the directive \{margin\}"),
        ("See {term}`rate`.", r"the role \{term\}`rate` has no conversion rule"),
        ("```{note}\n:icon: x\nBody\n```", r"option\(s\) :icon: of \{note\}"),
        ("```{literalinclude} ../x.py\n:pyobjekt: f\n```", r"has no option\(s\)"),
        ("```{literalinclude} ../missing.py\n```", "does not exist"),
        ("See {ref}`nowhere`.", "no label 'nowhere'"),
        ("See {doc}`02_other`.", "no page 'book/02_other'"),
        (
            "The rate is {glue:text}`rate:.2f`.",
            "quotes 'rate', which 01_page.ipynb never",
        ),
        ("(here)=\nA paragraph, then {ref}`here`.", "give it a title"),
        ("(here)=\n# Title\n\n{numref}`here`", "has no number"),
        ("```{solution-start} nothing\n```", "no label 'nothing'"),
        ("```{exercise-end}\n```", r"without an open \{exercise-start\}"),
    ],
)
def test_myst_without_a_rule_fails_loudly(tmp_path, markdown, message):
    book = one_page_book(tmp_path, nbformat.v4.new_markdown_cell(markdown))
    with pytest.raises(MystConversionError, match=message):
        write_copies(book, tmp_path / "out", COMMIT)


def test_an_unended_solution_fails(tmp_path):
    book = one_page_book(
        tmp_path,
        nbformat.v4.new_markdown_cell("```{exercise}\n:label: e\nDo it.\n```"),
        nbformat.v4.new_markdown_cell("```{solution-start} e\n```\nDone."),
    )
    with pytest.raises(MystConversionError, match=r"never ended by \{solution-end\}"):
        write_copies(book, tmp_path / "out", COMMIT)


def test_a_bad_commit_is_refused(tmp_path):
    book = one_page_book(tmp_path, nbformat.v4.new_markdown_cell("# Title"))
    with pytest.raises(ValueError, match="40 lowercase hexadecimal"):
        write_copies(book, tmp_path / "out", "main")


def test_only_a_folder_of_copies_is_emptied(tmp_path):
    book = one_page_book(tmp_path / "book", nbformat.v4.new_markdown_cell("# Title"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("someone's file\n")
    with pytest.raises(FileExistsError, match="holds no reader's copies"):
        write_copies(book, out, COMMIT)
    assert (out / "keep.txt").exists()
    fresh = tmp_path / "fresh"
    first = write_copies(book, fresh, COMMIT)
    (fresh / "stale.ipynb").write_text("{}")
    assert write_copies(book, fresh, COMMIT) == first
    assert not (fresh / "stale.ipynb").exists()
