"""Getting the Rock-Paper-Scissors images: the real data set, or its stand-in.

Every notebook of the book starts its data section with one call::

    folders = get_rps()
    print(folders)          # one sentence: which images, where, and why
    train_set = ImageFolder(folders.train, transform=...)

:func:`get_rps` looks for Laurence Moroney's Rock-Paper-Scissors images on
disk, downloads them when they are missing (checking every byte against the
published SHA-256), and falls back to the synthetic stand-in of
:mod:`lrlib.data._standin` when the network is out of reach. Both give the same
layout -- ``rps/<class>/*.png`` for training and ``rps-test-set/<class>/*.png``
for testing -- so the rest of the notebook does not care which one it got.

Three environment variables change the defaults without touching a notebook:
``LRBOOK_DATA_SOURCE`` (``real``, ``synthetic`` or ``auto``),
``LRBOOK_DATA_DIR`` (where the data lives; by default a cache folder) and
``LRBOOK_STANDIN_SEED`` (which stand-in to draw).

Downloading (all or nothing, SHA-256 checked) is done by the private
:mod:`lrlib.data._download`, which also holds :func:`validate_image_folder`
(re-exported here): the check that a folder is a class-per-folder image set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lrlib.data import _standin
from lrlib.data._download import (
    ARCHIVES,
    CONNECT_TIMEOUT,
    DOWNLOAD_TIMEOUT,
    DownloadError,
    RemoteArchive,
    download_archive,
    has_split,
    unreachable_reason,
    validate_image_folder,
)

__all__ = [
    "RPSFolders",
    "get_rps",
    "validate_image_folder",
]

RPS_CREDIT = (
    "Rock Paper Scissors data set by Laurence Moroney "
    "(http://laurencemoroney.com/rock-paper-scissors-dataset), "
    "licensed under CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/)"
)
"""Attribution required by the real data set's license;
print it wherever its images are shown.
"""

DATA_SOURCE_ENV = "LRBOOK_DATA_SOURCE"
"""Environment variable choosing the source: ``real``, ``synthetic`` or ``auto``."""

STANDIN_SEED_ENV = "LRBOOK_STANDIN_SEED"
"""Environment variable choosing the stand-in's seed
(the robustness benchmark draws others).
"""

DATA_DIR_ENV = "LRBOOK_DATA_DIR"
"""Environment variable naming the folder that holds (or receives) the data."""

SOURCES = ("auto", "real", "synthetic")
"""Accepted values of ``source`` and of ``LRBOOK_DATA_SOURCE``."""

SYNTHETIC_FOLDER = "rps-synthetic"
"""Sub-folder of the data folder where the stand-in is drawn."""


@dataclass(frozen=True)
class RPSFolders:
    """Where the training and test images are, and which data they are.

    Args:
        train: folder with one sub-folder of images per class (``rps``).
        test: the same for the test split (``rps-test-set``).
        source: ``"real"`` or ``"synthetic"``.
        reason: why this source was used, as a clause that completes
            "... because ...".
    """

    train: Path
    test: Path
    source: str
    reason: str

    def describe(self) -> str:
        """One sentence saying which images are used and why,
        for a notebook to print.
        """
        if self.source == "real":
            what = "the real Rock-Paper-Scissors images (Laurence Moroney, CC BY 2.0)"
        else:
            what = "the synthetic stand-in for the Rock-Paper-Scissors images"
        return (
            f"Using {what} in {_display_path(self.train.parent)} because {self.reason}."
        )

    def __str__(self) -> str:
        return self.describe()


# --------------------------------------------------------------------------
# Where the data lives, and whether a folder holds usable images
# --------------------------------------------------------------------------


def _default_data_dir() -> Path:
    """The folder that holds the data when no ``root`` is given.

    In order: ``$LRBOOK_DATA_DIR``; ``$XDG_CACHE_HOME/lrbook``;
    ``~/.cache/lrbook``.
    """
    explicit = os.environ.get(DATA_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    return _fallback_data_dir()


# --------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------


def get_rps(
    source: str | None = None,
    root: str | os.PathLike[str] | None = None,
    *,
    seed: int | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
    archives: tuple[RemoteArchive, RemoteArchive] = ARCHIVES,
) -> RPSFolders:
    """Find, download or draw the Rock-Paper-Scissors images.

    Shown in chapter 1.

    Sources:

    * ``"real"``: the real images, from ``root`` when they are there
      (a folder holding ``rps/`` and ``rps-test-set/``), else downloaded
      into it. Failing to download is an error.
    * ``"synthetic"``: the stand-in of :mod:`lrlib.data._standin`, drawn once
      into ``root / "rps-synthetic"`` and reused.
    * ``"auto"``: the real images when they are on disk or the server
      answers within ``connect_timeout`` seconds and the download succeeds;
      the stand-in otherwise.

    Announcing the choice is left to the caller: ``print(get_rps())``.

    Args:
        source: ``"auto"``, ``"real"`` or ``"synthetic"``; None reads
            ``LRBOOK_DATA_SOURCE`` and defaults to ``"auto"``.
        root: the data folder; None means :func:`_default_data_dir`.
        seed: seed of the stand-in; None reads ``LRBOOK_STANDIN_SEED`` and
            defaults to :data:`lrlib.data._standin.DEFAULT_SEED`. A stand-in of
            another seed is drawn into its own folder,
            ``rps-synthetic-seed<seed>``, beside the default one.
        timeout: seconds a download waits for the next bytes.
        connect_timeout: seconds ``"auto"`` waits for the server.
        archives: the training and test archives (tests pass local ones).

    Returns:
        An :class:`RPSFolders` with the two split folders, the source and the
        reason for it.

    Raises:
        ValueError: an unknown ``source`` (argument or environment variable).
        NotADirectoryError: the data folder (``root``, or else
            ``LRBOOK_DATA_DIR``) or one of its parents is a file; the
            message names the variable or argument and the path.
        FileNotFoundError, ValueError: a split folder in ``root`` exists but
            is not a valid image folder (it is reported, never replaced).
        DownloadError: ``source="real"`` and the download failed.

    Example:
        >>> # needs the data set
        >>> folders = get_rps("synthetic", "/tmp/lrbook-data")  # doctest: +SKIP
        >>> print(folders)  # doctest: +SKIP
        Using the synthetic stand-in for the Rock-Paper-Scissors images in
        /tmp/lrbook-data/rps-synthetic because source='synthetic' asks for it.
        >>> folders.train  # doctest: +SKIP
        PosixPath('/tmp/lrbook-data/rps-synthetic/rps')
    """
    source, asked_by = _resolve_source(source)
    seed = _resolve_seed(seed)
    root = _data_root(root)
    train_archive, test_archive = archives

    if source == "synthetic":
        return _synthetic(root, seed, f"{asked_by} asks for it")

    if has_split(root / train_archive.folder) and has_split(root / test_archive.folder):
        return RPSFolders(
            root / train_archive.folder,
            root / test_archive.folder,
            "real",
            "they were found on disk",
        )

    if source == "auto":
        offline = unreachable_reason(train_archive.url, connect_timeout)
        if offline is not None:
            return _synthetic(
                root, seed, f"the real images are not in {root} and {offline}"
            )
    try:
        train = download_archive(train_archive, root, timeout=timeout)
        test = download_archive(test_archive, root, timeout=timeout)
    except DownloadError as exc:
        if source == "real":
            raise DownloadError(
                f"{exc}. Check the network connection, point {DATA_DIR_ENV} at a "
                "folder holding rps/ and rps-test-set/, or set "
                f"{DATA_SOURCE_ENV}=synthetic to use the offline stand-in"
            ) from exc
        return _synthetic(
            root,
            seed,
            f"the real images are not in {root} and the download failed ({exc})",
        )
    return RPSFolders(
        train, test, "real", "they were downloaded and their SHA-256 checksums match"
    )


def _data_root(root: str | os.PathLike[str] | None) -> Path:
    """The data folder to use, checked to be a folder or creatable as one.

    Raises:
        NotADirectoryError: the folder, or its nearest existing parent, is a
            file; the message says who chose the folder (the ``root``
            argument, ``LRBOOK_DATA_DIR`` or the default) and what to do.
    """
    if root is not None:
        folder, chosen_by = Path(root).expanduser(), f"root={os.fspath(root)!r}"
    elif os.environ.get(DATA_DIR_ENV, "").strip():
        folder = _default_data_dir()
        chosen_by = f"{DATA_DIR_ENV}={os.environ[DATA_DIR_ENV].strip()!r}"
    else:
        folder, chosen_by = _default_data_dir(), "the default data folder"
    # The folder may not exist yet (it is created on first use): look at the
    # nearest part of the path that does.
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = (
            "is a file"
            if existing == folder
            else f"cannot be created: {existing} is a file"
        )
        fix = (
            f"set {DATA_DIR_ENV} to a folder (created when missing), or unset it to "
            f"use {_fallback_data_dir()}"
            if chosen_by.startswith(DATA_DIR_ENV)
            else f"pass a folder (created when missing), or set {DATA_DIR_ENV} to one"
        )
        raise NotADirectoryError(
            f"{chosen_by}: the data folder {folder} {where}; expected a folder that "
            f"holds or receives the Rock-Paper-Scissors images. To fix: {fix}."
        )
    return folder


def _display_path(path: Path) -> str:
    """``path`` with the home folder written ``~``, as printed in the book.

    Example:
        >>> _display_path(Path.home() / ".cache" / "lrbook")
        '~/.cache/lrbook'
        >>> _display_path(Path("/data/rps"))
        '/data/rps'
    """
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _fallback_data_dir() -> Path:
    """:func:`_default_data_dir` as it would be without ``LRBOOK_DATA_DIR``."""
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "lrbook"


def _resolve_source(source: str | None) -> tuple[str, str]:
    """The source to use, and who asked for it (for the reason)."""
    if source is None:
        raw = os.environ.get(DATA_SOURCE_ENV, "").strip().lower()
        if not raw:
            return "auto", "the default"
        if raw not in SOURCES:
            raise ValueError(f"{DATA_SOURCE_ENV} must be one of {SOURCES}, got {raw!r}")
        return raw, f"{DATA_SOURCE_ENV}={raw}"
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES} or None, got {source!r}")
    return source, f"source={source!r}"


def _resolve_seed(seed: int | None) -> int:
    """The stand-in's seed: the argument,
    else ``LRBOOK_STANDIN_SEED``, else the default.
    """
    if seed is not None:
        return seed
    raw = os.environ.get(STANDIN_SEED_ENV, "").strip()
    if not raw:
        return _standin.DEFAULT_SEED
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise ValueError(
            f"{STANDIN_SEED_ENV} must be an integer in [0, 2**32), got {raw!r}"
        )
    return value


def _synthetic(root: Path, seed: int, reason: str) -> RPSFolders:
    name = (
        SYNTHETIC_FOLDER
        if seed == _standin.DEFAULT_SEED
        else f"{SYNTHETIC_FOLDER}-seed{seed}"
    )
    folder = _standin.ensure_handpose(root / name, seed=seed)
    return RPSFolders(
        folder / _standin.TRAIN_SPLIT.folder,
        folder / _standin.TEST_SPLIT.folder,
        "synthetic",
        reason,
    )
