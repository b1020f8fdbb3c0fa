"""Reading the book's configuration: the one place that names the repository."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
TOC = ROOT / "_toc.yml"
# `make site` executes the notebooks into this copy of the book (tools/site.py).
STAGING = ROOT / "_build" / "source"


@dataclass(frozen=True)
class Repository:
    """The book's repository, from ``repository:`` in ``_config.yml``.

    ``copies_branch`` is the branch the reader's copies are published on
    (``lrbook_reader_copies``), empty when there is none.
    """

    url: str
    branch: str
    path_to_book: str
    copies_branch: str = ""

    @property
    def slug(self) -> str:
        """``owner/name`` of a GitHub repository url."""
        prefix = "https://github.com/"
        if not self.url.startswith(prefix):
            raise ValueError(
                f"repository.url must start with {prefix!r}, got {self.url!r}"
            )
        return self.url[len(prefix) :].rstrip("/")

    def colab_url(self, notebook: str, branch: str | None = None) -> str:
        """The Colab address that opens ``notebook`` (relative to the book root).

        What a reader launches: the reader's copy on :attr:`copies_branch`
        (the source on :attr:`branch` when there is no such branch).

        Args:
            notebook: the notebook's path in the book, such as ``book/03_x.ipynb``.
            branch: the branch to open it from instead.
        """
        parts = [p for p in (self.path_to_book.strip("/"), notebook) if p]
        return (
            f"https://colab.research.google.com/github/{self.slug}/blob/"
            f"{branch or self.copies_branch or self.branch}/{'/'.join(parts)}"
        )

    @property
    def site_url(self) -> str:
        """The address GitHub Pages publishes the repository's site at, ``/``-ended.

        ``https://github.com/OWNER/REPO`` is served at
        ``https://OWNER.github.io/REPO/``; the repository named
        ``OWNER.github.io`` at ``https://OWNER.github.io/``.

        Example:
            >>> Repository("https://github.com/lrbook/lrbook", "main", "").site_url
            'https://lrbook.github.io/lrbook/'
        """
        owner, _, name = self.slug.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(
                "repository.url must be https://github.com/OWNER/REPO, got "
                f"{self.url!r}"
            )
        host = f"{owner.lower()}.github.io"
        return f"https://{host}/" if name.lower() == host else f"https://{host}/{name}/"

    def page_url(self, docname: str, anchor: str = "") -> str:
        """The published address of the page ``docname`` (``book/03_x``).

        Args:
            docname: the page, as the table of contents names it.
            anchor: an id on the page to link to, if any.
        """
        return self.site_url + docname + ".html" + (f"#{anchor}" if anchor else "")


def load_config(path: Path = CONFIG) -> dict:
    return yaml.safe_load(path.read_text())


@dataclass(frozen=True)
class ReaderCopies:
    """Where the reader's copies of the chapters are published.

    ``branch`` is the git branch Colab opens them from, ``folder`` the folder of
    the website that the download button serves them from. Both come from
    ``sphinx.config.lrbook_reader_copies`` in ``_config.yml``, which the site's
    extension (book/_ext/lrbook_site.py) reads too.
    """

    branch: str
    folder: str


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def reader_copies(path: Path = CONFIG) -> ReaderCopies:
    """The branch and site folder of the reader's copies, from ``_config.yml``.

    Raises:
        ValueError: the setting is missing, or a name is not a plain folder or
            branch name (letters, digits, ``.``, ``_``, ``-``).
    """
    config = load_config(path)
    found = ((config.get("sphinx") or {}).get("config") or {}).get(
        "lrbook_reader_copies"
    )
    if not isinstance(found, dict):
        raise ValueError(
            f"{path}: sphinx.config.lrbook_reader_copies must be a mapping with "
            f"'branch' and 'folder', got {found!r}"
        )
    values = {}
    for key in ("branch", "folder"):
        value = found.get(key)
        if not isinstance(value, str) or not _SAFE_NAME.match(value):
            raise ValueError(
                f"{path}: sphinx.config.lrbook_reader_copies.{key} must be a plain "
                f"name (letters, digits, '.', '_', '-'), got {value!r}"
            )
        values[key] = value
    return ReaderCopies(**values)


def repository(path: Path = CONFIG) -> Repository:
    repo = load_config(path).get("repository") or {}
    missing = [k for k in ("url", "branch") if not repo.get(k)]
    if missing:
        raise ValueError(f"{path}: repository.{missing[0]} is missing")
    return Repository(
        repo["url"],
        repo["branch"],
        repo.get("path_to_book") or "",
        reader_copies(path).branch,
    )


def toc_files(path: Path = TOC) -> list[str]:
    """Every file the table of contents names, root first, without suffix."""
    toc = yaml.safe_load(path.read_text())
    files = [toc["root"]]
    _walk(toc.get("chapters", []), files)
    for part in toc.get("parts", []):
        _walk(part.get("chapters", []), files)
    return files


def toc_parts(path: Path = TOC) -> dict[str, list[str]]:
    """The files of each part of the table of contents, by the part's caption.

    A table of contents without parts is one part, ``"Chapters"``; the root
    page belongs to none.
    """
    toc = yaml.safe_load(path.read_text())
    if "parts" not in toc:
        return {"Chapters": toc_files(path)[1:]}
    parts = {}
    for n, part in enumerate(toc["parts"]):
        files: list[str] = []
        _walk(part.get("chapters", []), files)
        parts[part.get("caption") or f"Part {n + 1}"] = files
    return parts


def _walk(entries: list, files: list[str]) -> None:
    """Append the files of ``entries`` (and their sections, parts) in order."""
    for entry in entries or []:
        if "file" in entry:
            files.append(entry["file"])
        _walk(entry.get("sections", []), files)
        for part in entry.get("parts", []):
            _walk(part.get("chapters", []), files)


def chapter_notebooks() -> list[Path]:
    """The notebooks of the book, in table-of-contents order."""
    paths = [ROOT / f"{f}.ipynb" for f in toc_files()]
    return [p for p in paths if p.exists()]
