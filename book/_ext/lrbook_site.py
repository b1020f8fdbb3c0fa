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
* The Colab launch button and the ".ipynb" download button open the
  reader's copy of the chapter (tools/colab_copies.py), not its source: Colab
  from the branch, the download from the site's folder, both named by
  ``lrbook_reader_copies`` in the configuration.
* Pages whose outputs come from the Rock-Paper-Scissors images say which
  images produced them (the real ones or lrlib's synthetic stand-in) in a
  banner under the title, read from the line :meth:`lrlib.data.rps.RPSFolders.describe`
  prints; the footer credits the real images only when some page used them.
* Controls are named by what they show (an accessibility audit runs on every
  page, see tests/test_site.py): a folded code cell's toggle has its visible
  text ("Show code cell source") as its name, not myst-nb's fixed
  aria-label "Toggle hidden content"; the frame slider of a Matplotlib
  animation gets a label. The theme's own buttons are mended in
  ``book/_templates``, the widgets' sliders in ``_static/widgets-offline.js``.
"""

from __future__ import annotations

import html
import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError

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


# --------------------------------------------------------------------------
# Launch and download buttons: the reader's copy
# --------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _reader_copies(app: Sphinx) -> tuple[str, str] | None:
    """(branch, folder) of the reader's copies, or None when not configured."""
    copies = app.config.lrbook_reader_copies
    if not copies:
        return None
    names = tuple(
        copies.get(key) if isinstance(copies, dict) else None
        for key in ("branch", "folder")
    )
    if not all(isinstance(n, str) and _PLAIN_NAME.match(n) for n in names):
        raise ExtensionError(
            "lrbook_reader_copies must map 'branch' and 'folder' to plain names, "
            f"got {copies!r}"
        )
    return names


def point_buttons_to_reader_copies(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Make the Colab and ".ipynb" buttons of a notebook page open its reader's copy.

    sphinx-book-theme builds the Colab address from the repository's branch
    and the download address from ``_sources``; both would give the source
    notebook, MyST and all. The copy has the same path in the book on the
    copies' branch and under the copies' folder of the site. A launch button
    of another service has no copy to open, which is an error here rather
    than a button to the source.
    """
    copies = _reader_copies(app)
    if copies is None:
        return
    branch, folder = copies
    options = app.config.html_theme_options or {}
    colab = str((options.get("launch_buttons") or {}).get("colab_url") or "").rstrip(
        "/"
    )
    source_branch = options.get("repository_branch") or "main"
    for group in context.get("header_buttons") or []:
        for button in group.get("buttons") or []:
            url = button.get("url") or ""
            if group.get("label") == "launch-buttons" and button.get("type") == "link":
                prefix = f"/blob/{source_branch}/"
                if not (colab and url.startswith(colab + "/github/") and prefix in url):
                    raise ExtensionError(
                        f"the {button.get('text')!r} launch button ({url}) has no "
                        "rule to open the reader's copy; only Colab's has "
                        "(book/_ext/lrbook_site.py)"
                    )
                head, _, path = url.partition(prefix)
                button["url"] = f"{head}/blob/{branch}/{path}"
                button["tooltip"] = "Launch the reader's copy on Colab"
            elif group.get("label") == "download-buttons" and url.endswith(
                f"/{pagename}.ipynb"
            ):
                button["url"] = context["pathto"](f"{folder}/{pagename}.ipynb", 1)
                button["tooltip"] = "Download the notebook (the reader's copy)"


# --------------------------------------------------------------------------
# Accessible names of controls
# --------------------------------------------------------------------------


def visit_folded_input(translator: Any, node: nodes.Element) -> None:
    """Open a folded code cell as myst-nb does, minus its summary's aria-label.

    myst-nb names every toggle "Toggle hidden content" while it shows "Show
    code cell source": a name that leaves out the visible words fails WCAG
    2.5.3 (label in name). Without the aria-label the summary is named by the
    one of its two titles that the theme's CSS shows.
    """
    classes = " ".join(node["classes"])
    translator.body.append(f'<details class="admonition hide {classes}">\n')
    translator.body.append("<summary>\n")
    for state, prompt in (("collapsed", "prompt_show"), ("expanded", "prompt_hide")):
        translator.body.append(
            f'<p class="{state} admonition-title">{html.escape(node[prompt])}</p>\n'
        )
    translator.body.append("</summary>\n")


def name_folded_inputs(app: Sphinx) -> None:
    """Replace myst-nb's HTML visitor for folded code cells (once every
    extension is set up, so that ours comes last)."""
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.add_node(
        HideCodeCellNode, override=True, html=(visit_folded_input, depart_HideCellInput)
    )


ANIMATION_SLIDER_LABEL = "Frame of the animation"
_ANIMATION_SLIDER = re.compile(
    r"<input\b(?![^>]*\baria-label=)(?=[^>]*\bclass=\"anim-slider\")", re.IGNORECASE
)


def label_animation_sliders(app: Sphinx, doctree: nodes.document) -> None:
    """Give the frame slider of every Matplotlib animation player a name.

    ``Animation.to_jshtml()`` draws its slider as an unlabelled
    ``<input type="range">``; a screen reader announces it as "slider" only.
    """
    label = html.escape(ANIMATION_SLIDER_LABEL, quote=True)
    for raw in doctree.findall(nodes.raw):
        text = raw.astext()
        if "html" not in raw.get("format", "").split() or "anim-slider" not in text:
            continue
        labelled = _ANIMATION_SLIDER.sub(f'<input aria-label="{label}"', text)
        raw.children = [nodes.Text(labelled)]


def setup(app: Sphinx) -> dict[str, Any]:
    # {"branch": ..., "folder": ...}: where tools/colab_copies.py publishes.
    app.add_config_value("lrbook_reader_copies", {}, "html", types=[dict])
    # After sphinx-book-theme has added its buttons (priority 501).
    app.connect("html-page-context", point_buttons_to_reader_copies, priority=600)
    # Run after every other extension has added its per-page scripts.
    app.connect("html-page-context", drop_duplicate_scripts, priority=999)
    app.connect("html-page-context", set_footer)
    app.connect("doctree-read", set_alt_text)
    app.connect("doctree-read", mark_data_source)
    app.connect("doctree-read", label_animation_sliders)
    app.connect("builder-inited", name_folded_inputs)
    app.connect("env-purge-doc", purge_data_source)
    app.connect("env-merge-info", merge_data_source)
    # After the toctree collector (priority 500) has numbered the whole book.
    app.connect("env-get-updated", number_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
