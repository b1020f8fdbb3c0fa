"""Small fixes to the generated pages, applied at build time.

* sphinx-thebe and sphinx-togglebutton register their inline configuration
  scripts more than once, so a page declares ``const THEBE_JS_URL`` twice and
  the browser reports a SyntaxError. Identical scripts are kept once.
* ipywidgets 8 typesets widget labels with MathJax 2's API while the site
  loads MathJax 3; ``_static/widgets-offline.js`` bridges that call.
* Every image gets alt text: a figure's from the first sentences of its
  caption, an uncaptioned one from the section it sits in. Without this the
  alt text of a notebook figure is its hashed file name.
* Figures are numbered per chapter: "Fig. 3.2" is the second figure of the
  chapter whose file starts with ``03_``, the number the prose uses for it.
  Pages without a number in their file name count from 1 on their own.
* Pages whose outputs come from the Rock-Paper-Scissors images say which
  images produced them (the real ones or lrlib's synthetic stand-in) in a
  banner under the title, read from the line :meth:`lrlib.rps.RPSFolders.describe`
  prints; the footer credits the real images only when some page used them.
"""

from __future__ import annotations

import html
import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

# --------------------------------------------------------------------------
# Duplicate inline scripts
# --------------------------------------------------------------------------


def _script_key(script: Any) -> tuple:
    # Sphinx 7 keeps scripts as _JavaScript objects (filename + attributes,
    # inline code in the `body` attribute); an inline script's filename is
    # None or "" depending on who added it.
    filename = getattr(script, "filename", script) or ""
    attributes = tuple(
        sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())
    )
    return (str(filename), attributes)


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


# --------------------------------------------------------------------------
# Alt text
# --------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
ALT_MAX = 250


def leading_sentences(text: str, limit: int = ALT_MAX) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters (at least one).

    Whitespace is collapsed; a first sentence longer than ``limit`` is cut at
    a word and ends with an ellipsis.
    """
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    kept = sentences[0]
    for sentence in sentences[1:]:
        if len(kept) + 1 + len(sentence) > limit:
            break
        kept += " " + sentence
    if len(kept) > limit:
        kept = kept[: limit - 1].rsplit(" ", 1)[0] + "…"
    return kept


def _section_title(node: nodes.Node) -> str:
    """The title of the innermost section holding ``node`` ("" if none)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section) and parent.children:
            first = parent.children[0]
            if isinstance(first, nodes.title):
                return " ".join(first.astext().split())
        parent = parent.parent
    return ""


_FILE_LIKE = re.compile(r"^\S*(/|\.(png|jpe?g|gif|svg)$)\S*$|[0-9a-f]{16}", re.I)


def _looks_generated(alt: str) -> bool:
    # Sphinx and myst-nb fall back to the file path; a path or a hash is no text.
    return not alt.strip() or bool(_FILE_LIKE.search(alt))


def alt_for(node: nodes.Node, what: str = "Figure") -> str:
    figure = node.parent
    while figure is not None and not isinstance(figure, nodes.figure):
        figure = figure.parent
    if figure is not None:
        for caption in figure.findall(nodes.caption):
            text = leading_sentences(caption.astext())
            if text:
                return text
    title = _section_title(node)
    return f"{what} in the section “{title}”" if title else what


_RAW_IMG = re.compile(r"<img\b(?![^>]*\balt=)([^>]*)>", re.IGNORECASE)


def set_alt_text(app: Sphinx, doctree: nodes.document) -> None:
    for image in doctree.findall(nodes.image):
        if _looks_generated(image.get("alt", "")):
            image["alt"] = alt_for(image)
    # Images inside raw HTML outputs, such as a Matplotlib animation.
    for raw in doctree.findall(nodes.raw):
        if "html" not in raw.get("format", "").split() or "<img" not in raw.astext():
            continue
        what = "Animation" if "_anim_img" in raw.astext() else "Image"
        alt = html.escape(alt_for(raw, what), quote=True)
        head = f'<img alt="{alt}"'
        text = _RAW_IMG.sub(lambda m, head=head: f"{head}{m.group(1)}>", raw.astext())
        raw.children = [nodes.Text(text)]


# --------------------------------------------------------------------------
# Figure numbers per chapter
# --------------------------------------------------------------------------

_CHAPTER = re.compile(r"(?:^|/)(\d+)_[^/]*$")


def chapter_number(docname: str) -> int | None:
    """The chapter a page is: the number its file name starts with, if any."""
    match = _CHAPTER.search(docname)
    return int(match.group(1)) if match else None


def number_per_chapter(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Renumber figures (and tables, listings) from 1 on every page.

    Runs after Sphinx has numbered them through the whole book in reading
    order; the order within a page is kept.
    """
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        chapter = chapter_number(docname)
        for numbers in by_type.values():
            ordered = sorted(numbers, key=numbers.__getitem__)
            for index, fig_id in enumerate(ordered, start=1):
                numbers[fig_id] = (index,) if chapter is None else (chapter, index)
        if by_type:
            changed.append(docname)
    return changed


# --------------------------------------------------------------------------
# Which images produced the results
# --------------------------------------------------------------------------

_DESCRIBE = re.compile(
    r"Using the (?P<what>real Rock-Paper-Scissors images|synthetic stand-in for"
    r" the Rock-Paper-Scissors images)[^\n]*?(?: because (?P<why>[^\n]*?))?\.?$",
    re.MULTILINE,
)
DATASET_URL = "http://laurencemoroney.com/rock-paper-scissors-dataset"
LICENSE_URL = "https://creativecommons.org/licenses/by/2.0/"
# The data set's credit, as its license asks wherever results from it are shown:
# "Rock Paper Scissors dataset by Laurence Moroney, CC BY 2.0".
CREDIT_PARTS: list[str | tuple[str, str]] = [
    ("Rock Paper Scissors dataset", DATASET_URL),
    " by Laurence Moroney, ",
    ("CC BY 2.0", LICENSE_URL),
]


def data_sources(doctree: nodes.Node) -> dict[str, str]:
    """``{"real" | "synthetic": reason}`` for each source a page's outputs name."""
    found: dict[str, str] = {}
    for block in doctree.findall(nodes.literal_block):
        if "output" not in block.get("classes", []):
            continue
        for match in _DESCRIBE.finditer(block.astext()):
            kind = "real" if match.group("what").startswith("real") else "synthetic"
            found.setdefault(kind, (match.group("why") or "").strip())
    return found


def _text_with_links(parts: list[str | tuple[str, str]]) -> nodes.paragraph:
    para = nodes.paragraph()
    for part in parts:
        if isinstance(part, tuple):
            text, url = part
            para += nodes.reference(text, text, refuri=url)
        else:
            para += nodes.Text(part)
    return para


def banner(sources: dict[str, str]) -> nodes.container:
    parts: list[str | tuple[str, str]]
    if set(sources) == {"real"}:
        parts = [
            "Results on this page come from the real images: the ",
            *CREDIT_PARTS,
            ".",
        ]
        classes = ["lrbook-data-source", "lrbook-real"]
    elif set(sources) == {"synthetic"}:
        why = sources["synthetic"]
        parts = [
            "Results on this page come from the synthetic stand-in for the"
            " Rock-Paper-Scissors images: hands that lrlib draws from a small 3D"
            " model, not Laurence Moroney's images"
            + (f" (used because {why})" if why else "")
            + ". On the real images the numbers and figures would differ."
        ]
        classes = ["lrbook-data-source", "lrbook-standin"]
    else:
        parts = [
            "Results on this page come from both the real images (the ",
            *CREDIT_PARTS,
            ") and lrlib's synthetic stand-in for them; the printed lines below"
            " say which cell used which.",
        ]
        classes = ["lrbook-data-source", "lrbook-real", "lrbook-standin"]
    box = nodes.container(classes=classes)
    box += _text_with_links(parts)
    return box


def mark_data_source(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    sources = data_sources(doctree)
    store = env.__dict__.setdefault("lrbook_data_sources", {})
    store.pop(env.docname, None)
    if not sources:
        return
    store[env.docname] = sorted(sources)
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    position = 1 if section.children and isinstance(section[0], nodes.title) else 0
    section.insert(position, banner(sources))


def purge_data_source(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    env.__dict__.setdefault("lrbook_data_sources", {}).pop(docname, None)


def merge_data_source(
    app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
) -> None:
    store = env.__dict__.setdefault("lrbook_data_sources", {})
    theirs = other.__dict__.get("lrbook_data_sources", {})
    store.update({d: theirs[d] for d in docnames if d in theirs})


def footer_credit(used: set[str]) -> str:
    """The footer's sentence on the Rock-Paper-Scissors data, for what was used."""
    credit = (
        f'<a href="{DATASET_URL}">Rock Paper Scissors dataset</a> by Laurence '
        f'Moroney, <a href="{LICENSE_URL}">CC BY 2.0</a>'
    )
    if used == {"real"}:
        return f"<p>Results on these pages come from the {credit}.</p>"
    if used == {"synthetic"}:
        return (
            "<p>Results that need the Rock-Paper-Scissors images were computed on"
            " lrlib's synthetic stand-in for them, not on the images themselves.</p>"
        )
    if used:
        return (
            "<p>Some pages use the real Rock-Paper-Scissors images, others"
            " lrlib's synthetic stand-in (each page says which). The real images:"
            f" {credit}.</p>"
        )
    return ""


def set_footer(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    used = {
        kind
        for kinds in app.env.__dict__.get("lrbook_data_sources", {}).values()
        for kind in kinds
    }
    base = context.get("theme_extra_footer") or ""
    context["theme_extra_footer"] = base + footer_credit(used)


def setup(app: Sphinx) -> dict[str, Any]:
    # Run after every other extension has added its per-page scripts.
    app.connect("html-page-context", drop_duplicate_scripts, priority=999)
    app.connect("html-page-context", set_footer)
    app.connect("doctree-read", set_alt_text)
    app.connect("doctree-read", mark_data_source)
    app.connect("env-purge-doc", purge_data_source)
    app.connect("env-merge-info", merge_data_source)
    # After the toctree collector (priority 500) has numbered the whole book.
    app.connect("env-get-updated", number_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
