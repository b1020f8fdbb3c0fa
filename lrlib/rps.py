"""Getting the Rock-Paper-Scissors images: the real data set, or its stand-in.

Every notebook of the book starts its data section with one call::

    folders = get_rps()
    print(folders)          # one sentence: which images, where, and why
    train_set = ImageFolder(folders.train, transform=...)

:func:`get_rps` looks for Laurence Moroney's Rock-Paper-Scissors images on
disk, downloads them when they are missing (checking every byte against the
published SHA-256), and falls back to the synthetic stand-in of
:mod:`lrlib.handpose` when the network is out of reach. Both give the same
layout -- ``rps/<class>/*.png`` for training and ``rps-test-set/<class>/*.png``
for testing -- so the rest of the notebook does not care which one it got.

Three environment variables change the defaults without touching a notebook:
``LRBOOK_DATA_SOURCE`` (``real``, ``synthetic`` or ``auto``),
``LRBOOK_DATA_DIR`` (where the data lives; by default a cache folder) and
``LRBOOK_STANDIN_SEED`` (which stand-in to draw).

Downloads are all-or-nothing: an archive is streamed to a temporary file,
verified, unpacked into a temporary folder, checked, and only then renamed to
its final name. An interrupted download leaves no half-filled folder behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS

from lrlib import handpose
from lrlib.filelock import exclusive
from lrlib.preload import DECODE_ERRORS, ImageDecodeError

__all__ = [
    "ARCHIVES",
    "CLASSES",
    "CONNECT_TIMEOUT",
    "DATA_DIR_ENV",
    "DATA_SOURCE_ENV",
    "DOWNLOAD_TIMEOUT",
    "RPS_CREDIT",
    "SOURCES",
    "STANDIN_SEED_ENV",
    "SYNTHETIC_FOLDER",
    "TEST_ARCHIVE",
    "TRAIN_ARCHIVE",
    "DownloadError",
    "RPSFolders",
    "RemoteArchive",
    "default_data_dir",
    "display_path",
    "download_archive",
    "get_rps",
    "unreachable_reason",
    "validate_image_folder",
]

CLASSES = ("paper", "rock", "scissors")
"""The class folders, in the (alphabetical) order ``ImageFolder`` numbers them."""

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

CONNECT_TIMEOUT = 5.0
"""Seconds ``source="auto"`` waits for the download server before falling back."""

DOWNLOAD_TIMEOUT = 60.0
"""Seconds a download may wait for the next bytes before it is abandoned."""


@dataclass(frozen=True)
class RemoteArchive:
    """A zip archive holding one split of the data, and how to check it.

    Args:
        url: where to download it from.
        sha256: the archive's SHA-256 digest, in hexadecimal.
        size: the archive's size in bytes.
        folder: the top-level folder inside the archive, which is also the
            split's folder on disk (``rps`` or ``rps-test-set``).
        images: how many images the split holds.
    """

    url: str
    sha256: str
    size: int
    folder: str
    images: int


# Sizes and SHA-256 digests as published by TensorFlow Datasets in
# tensorflow_datasets/url_checksums/rock_paper_scissors.txt
# (https://github.com/tensorflow/datasets).
TRAIN_ARCHIVE = RemoteArchive(
    url="https://storage.googleapis.com/download.tensorflow.org/data/rps.zip",
    sha256="c2403444395842ad04c53612bad54b574443eae17a0723117a2ff87b9d72194f",
    size=200_682_221,
    folder="rps",
    images=2520,
)
TEST_ARCHIVE = RemoteArchive(
    url="https://storage.googleapis.com/download.tensorflow.org/data/rps-test-set.zip",
    sha256="c27ab9fa43ce40b2e453de711365b477f4424586edf0388116674fd320f07503",
    size=29_516_758,
    folder="rps-test-set",
    images=372,
)
ARCHIVES = (TRAIN_ARCHIVE, TEST_ARCHIVE)


class DownloadError(OSError):
    """A download failed: no connection, an interrupted transfer, or wrong bytes."""


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
            f"Using {what} in {display_path(self.train.parent)} because {self.reason}."
        )

    def __str__(self) -> str:
        return self.describe()


# --------------------------------------------------------------------------
# Where the data lives, and whether a folder holds usable images
# --------------------------------------------------------------------------


def default_data_dir() -> Path:
    """The folder that holds the data when no ``root`` is given.

    In order: ``$LRBOOK_DATA_DIR``; ``$XDG_CACHE_HOME/lrbook``;
    ``~/.cache/lrbook``.
    """
    explicit = os.environ.get(DATA_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    return _fallback_data_dir()


def validate_image_folder(
    path: str | os.PathLike[str],
    *,
    classes: tuple[str, ...] = CLASSES,
    check_images: bool = False,
) -> dict[str, int]:
    """Check that ``path`` is a class-per-sub-folder image folder.

    This is the layout :class:`torchvision.datasets.ImageFolder` reads: one
    sub-folder per class, each holding at least one image. ImageFolder turns
    *every* sub-folder into a class, so an unexpected one is an error too.

    Args:
        path: the split's folder, e.g. ``.../rps``.
        classes: the sub-folders that must be there, and the only ones.
        check_images: also decode every image (slower, catches corrupt files).

    Returns:
        The number of images of each class.

    Raises:
        FileNotFoundError: ``path`` or one of the class folders is missing.
        NotADirectoryError: ``path`` is a file.
        ValueError: a class folder holds no images, or an unexpected
            sub-folder is there.
        ImageDecodeError: (with ``check_images``) an image cannot be decoded;
            a ``ValueError`` too, naming the file and what to do.

    Example:
        >>> # needs the data set
        >>> counts = validate_image_folder(get_rps().train)  # doctest: +SKIP
        >>> counts  # doctest: +SKIP
        {'paper': 840, 'rock': 840, 'scissors': 840}
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"image folder {root} is a file, expected a folder")
    found = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    extra = sorted(set(found) - set(classes))
    if extra:
        raise ValueError(
            f"image folder {root} holds unexpected sub-folders {extra}; "
            f"expected only the class folders {list(classes)}"
        )
    counts = {}
    for name in classes:
        folder = root / name
        if not folder.is_dir():
            raise FileNotFoundError(
                f"class folder {folder} is missing (expected {list(classes)} in {root})"
            )
        images = [
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS
        ]
        if not images:
            raise ValueError(
                f"class folder {folder} holds no images (looked for "
                f"{', '.join(IMG_EXTENSIONS)})"
            )
        if check_images:
            for image in images:
                _check_decodes(image, root)
        counts[name] = len(images)
    return counts


def _check_decodes(path: Path, split: Path) -> None:
    try:
        with Image.open(path) as image:
            image.load()
    except (*DECODE_ERRORS, ValueError) as exc:
        raise ImageDecodeError(
            f"image {path} cannot be decoded: {type(exc).__name__}: {exc}. The file is "
            "probably truncated or damaged (an interrupted download or copy): replace "
            f"or delete it; for the book's data, delete {split} and get_rps() "
            "downloads it again (checksum-verified) or draws the stand-in again.",
            path=path,
        ) from exc


def _has_split(folder: Path) -> bool:
    """Whether ``folder`` exists; if so it must be a valid image folder."""
    if not folder.exists():
        return False
    validate_image_folder(folder)
    return True


# --------------------------------------------------------------------------
# Downloading, all or nothing
# --------------------------------------------------------------------------


def download_archive(
    archive: RemoteArchive,
    root: str | os.PathLike[str],
    *,
    timeout: float = DOWNLOAD_TIMEOUT,
    chunk_size: int = 1 << 20,
) -> Path:
    """Download, verify and unpack ``archive`` into ``root / archive.folder``.

    An existing folder is reused without any request. Otherwise the archive
    is streamed to a temporary file in ``root`` while its SHA-256 is
    computed; its size and digest must match. It is then unpacked into a
    temporary folder, its layout is checked, and the split's folder is renamed
    into place in one step. Whatever fails, the temporary files are removed,
    so ``root / archive.folder`` is either complete or absent. Leftovers of an
    earlier, killed run are removed first. Processes downloading the same
    split into the same ``root`` take turns (:func:`lrlib.filelock.exclusive`):
    the first downloads, the others wait and then reuse its folder.

    Args:
        archive: what to fetch and how to check it (tests pass a local URL).
        root: the data folder.
        timeout: seconds to wait for the connection and for each read.
        chunk_size: bytes read at a time.

    Returns:
        The split's folder, ``root / archive.folder``.

    Raises:
        DownloadError: no connection, an interrupted transfer, or bytes that
            do not match the expected size and SHA-256.
        FileNotFoundError, ValueError: the archive or an existing folder does
            not have the expected class-per-folder layout (see
            :func:`validate_image_folder`).
        ValueError: ``timeout`` is not positive.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout}")
    root = Path(root)
    target = root / archive.folder
    if _has_split(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    partial_prefix = f".{archive.folder}."
    with exclusive(root / f"{partial_prefix}lock"):
        # Another process may have finished this download while this one waited.
        if _has_split(target):
            return target
        # Holding the lock, no other process is downloading: any temporary
        # file left in root belongs to a run that was killed.
        for leftover in root.glob(f"{partial_prefix}*.partial"):
            _remove(leftover)

        handle, name = tempfile.mkstemp(
            dir=root, prefix=partial_prefix, suffix=".zip.partial"
        )
        os.close(handle)
        zip_path = Path(name)
        unpacked = Path(
            tempfile.mkdtemp(dir=root, prefix=partial_prefix, suffix=".partial")
        )
        try:
            _fetch(archive, zip_path, timeout=timeout, chunk_size=chunk_size)
            with zipfile.ZipFile(zip_path) as bundle:
                # Safe to unpack: the bytes are exactly the published archive.
                bundle.extractall(unpacked)
            validate_image_folder(unpacked / archive.folder)
            (unpacked / archive.folder).rename(target)
        finally:
            _remove(zip_path)
            _remove(unpacked)
    return target


def _fetch(
    archive: RemoteArchive, destination: Path, *, timeout: float, chunk_size: int
) -> None:
    """Stream ``archive.url`` into ``destination``, checking its size and SHA-256."""
    digest = hashlib.sha256()
    received = 0
    try:
        with (
            urllib.request.urlopen(archive.url, timeout=timeout) as response,
            destination.open("wb") as out,
        ):
            while chunk := response.read(chunk_size):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(
            f"could not download {archive.url}: {_describe_error(exc)}"
        ) from exc
    if received != archive.size:
        raise DownloadError(
            f"download of {archive.url} is incomplete or wrong: expected "
            f"{archive.size} bytes, got {received}"
        )
    if digest.hexdigest() != archive.sha256:
        raise DownloadError(
            f"checksum mismatch for {archive.url}: expected SHA-256 {archive.sha256}, "
            f"got {digest.hexdigest()}"
        )


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(
        exc, urllib.error.HTTPError
    ):
        return str(exc.reason)
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection closed early, after {len(exc.partial)} bytes of a read"
    return str(exc) or type(exc).__name__


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def unreachable_reason(url: str, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """Why ``url`` cannot be fetched right now, or None when it can.

    Sends a HEAD request (the headers only, no download) from a helper
    thread and waits for it at most ``timeout`` seconds, name resolution
    included, so this never hangs on a machine without a network -- nor
    behind a proxy that accepts connections and then stays silent.
    """
    outcome: list[str | None] = []

    def ask() -> None:
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, method="HEAD"), timeout=timeout
            ):
                outcome.append(None)
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(f"{url} cannot be reached ({_describe_error(exc)})")

    worker = threading.Thread(target=ask, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        return f"{url} did not answer within {timeout:g} s"
    return outcome[0]


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

    Sources:

    * ``"real"``: the real images, from ``root`` when they are there
      (a folder holding ``rps/`` and ``rps-test-set/``), else downloaded
      into it. Failing to download is an error.
    * ``"synthetic"``: the stand-in of :mod:`lrlib.handpose`, drawn once
      into ``root / "rps-synthetic"`` and reused.
    * ``"auto"``: the real images when they are on disk or the server
      answers within ``connect_timeout`` seconds and the download succeeds;
      the stand-in otherwise.

    Announcing the choice is left to the caller: ``print(get_rps())``.

    Args:
        source: ``"auto"``, ``"real"`` or ``"synthetic"``; None reads
            ``LRBOOK_DATA_SOURCE`` and defaults to ``"auto"``.
        root: the data folder; None means :func:`default_data_dir`.
        seed: seed of the stand-in; None reads ``LRBOOK_STANDIN_SEED`` and
            defaults to :data:`lrlib.handpose.DEFAULT_SEED`. A stand-in of
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

    if _has_split(root / train_archive.folder) and _has_split(
        root / test_archive.folder
    ):
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
        folder = default_data_dir()
        chosen_by = f"{DATA_DIR_ENV}={os.environ[DATA_DIR_ENV].strip()!r}"
    else:
        folder, chosen_by = default_data_dir(), "the default data folder"
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


def display_path(path: Path) -> str:
    """``path`` with the home folder written ``~``, as printed in the book.

    Example:
        >>> display_path(Path.home() / ".cache" / "lrbook")
        '~/.cache/lrbook'
        >>> display_path(Path("/data/rps"))
        '/data/rps'
    """
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _fallback_data_dir() -> Path:
    """:func:`default_data_dir` as it would be without ``LRBOOK_DATA_DIR``."""
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
        return handpose.DEFAULT_SEED
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
        if seed == handpose.DEFAULT_SEED
        else f"{SYNTHETIC_FOLDER}-seed{seed}"
    )
    folder = handpose.ensure_handpose(root / name, seed=seed)
    return RPSFolders(
        folder / handpose.TRAIN_SPLIT.folder,
        folder / handpose.TEST_SPLIT.folder,
        "synthetic",
        reason,
    )
