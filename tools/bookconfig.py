"""Reading the book's configuration: the one place that names the repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
TOC = ROOT / "_toc.yml"


@dataclass(frozen=True)
class Repository:
    url: str
    branch: str
    path_to_book: str

    @property
    def slug(self) -> str:
        """``owner/name`` of a GitHub repository url."""
        prefix = "https://github.com/"
        if not self.url.startswith(prefix):
            raise ValueError(
                f"repository.url must start with {prefix!r}, got {self.url!r}"
            )
        return self.url[len(prefix) :].rstrip("/")

    def colab_url(self, notebook: str) -> str:
        """The Colab address that opens ``notebook`` (relative to the book root)."""
        parts = [p for p in (self.path_to_book.strip("/"), notebook) if p]
        return f"https://colab.research.google.com/github/{self.slug}/blob/{self.branch}/{'/'.join(parts)}"


def load_config(path: Path = CONFIG) -> dict:
    return yaml.safe_load(path.read_text())


def repository(path: Path = CONFIG) -> Repository:
    repo = load_config(path).get("repository") or {}
    missing = [k for k in ("url", "branch") if not repo.get(k)]
    if missing:
        raise ValueError(f"{path}: repository.{missing[0]} is missing")
    return Repository(repo["url"], repo["branch"], repo.get("path_to_book") or "")


def toc_files(path: Path = TOC) -> list[str]:
    """Every file the table of contents names, root first, without suffix."""
    toc = yaml.safe_load(path.read_text())
    files = [toc["root"]]

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            for part in entry.get("parts", []):
                walk(part.get("chapters", []))

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


def chapter_notebooks() -> list[Path]:
    """The notebooks of the book, in table-of-contents order."""
    paths = [ROOT / f"{f}.ipynb" for f in toc_files()]
    return [p for p in paths if p.exists()]
