"""The site's banner and footer name the images a page's results come from, and
credit the real ones as their license asks (book/_ext/lrbook_site.py, issue 23).

The pages are read from the line lrlib prints (``RPSFolders.describe``), so the
tests print that line for real folders and for the stand-in.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from docutils import nodes

from lrlib.data.rps import RPSFolders
from tools.bookconfig import ROOT

CREDIT = "Rock Paper Scissors dataset by Laurence Moroney, CC BY 2.0"


@pytest.fixture(scope="module")
def ext():
    spec = importlib.util.spec_from_file_location(
        "lrbook_site_under_test", ROOT / "book" / "_ext" / "lrbook_site.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def page(*printed: str) -> nodes.section:
    """A page whose code cells printed these lines (as myst-nb renders outputs)."""
    section = nodes.section()
    section += nodes.title(text="A chapter")
    for text in printed:
        section += nodes.literal_block(text, text, classes=["output", "stream"])
    return section


def described(source: str, reason: str) -> str:
    folder = Path("/data/rps-real") if source == "real" else Path("/data/synthetic")
    return RPSFolders(
        folder / "rps", folder / "rps-test-set", source, reason
    ).describe()


def test_a_page_built_from_the_real_images_credits_them(ext):
    doctree = page(described("real", "they were found on disk"), "2520 training images")
    sources = ext.data_sources(doctree)
    assert sources == {"real": "they were found on disk"}
    box = ext.banner(sources)
    assert CREDIT in box.astext()
    assert box.astext().startswith("Results on this page come from the real images")
    links = {ref["refuri"] for ref in box.findall(nodes.reference)}
    assert links == {ext.DATASET_URL, ext.LICENSE_URL}
    assert "lrbook-real" in box["classes"] and "lrbook-standin" not in box["classes"]


def test_a_stand_in_page_says_so_and_gives_no_credit(ext):
    sources = ext.data_sources(
        page(described("synthetic", "LRBOOK_DATA_SOURCE=synthetic asks for it"))
    )
    assert sources == {"synthetic": "LRBOOK_DATA_SOURCE=synthetic asks for it"}
    text = ext.banner(sources).astext()
    assert "synthetic stand-in" in text and "Laurence Moroney's images" in text
    assert CREDIT not in text
    assert "(used because LRBOOK_DATA_SOURCE=synthetic asks for it)" in text


def test_a_page_with_both_credits_the_real_images(ext):
    sources = ext.data_sources(
        page(described("real", "they were found on disk"), described("synthetic", "x"))
    )
    assert set(sources) == {"real", "synthetic"}
    assert CREDIT in ext.banner(sources).astext()


def test_lines_that_are_not_outputs_do_not_count(ext):
    section = page()
    text = described("real", "they were found on disk")
    section += nodes.literal_block(text, text, classes=["cell_input"])
    assert ext.data_sources(section) == {}


@pytest.mark.parametrize(
    "used, credited",
    [({"real"}, True), ({"real", "synthetic"}, True), ({"synthetic"}, False)],
)
def test_the_footer_credits_the_real_images_when_any_page_used_them(
    ext, used, credited
):
    footer = ext.footer_credit(used)
    plain = footer.replace(f'<a href="{ext.DATASET_URL}">', "").replace(
        f'<a href="{ext.LICENSE_URL}">', ""
    )
    plain = plain.replace("</a>", "")
    assert (CREDIT in plain) is credited
    assert ext.footer_credit(set()) == ""
