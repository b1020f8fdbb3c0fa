"""Downloading the real Rock-Paper-Scissors archives, all or nothing (private).

:func:`lrlib.data.rps.get_rps` calls :func:`download_archive` for each split:
the archive is streamed to a temporary file while its SHA-256 is computed,
checked against the published size and digest, unpacked into a temporary
folder, checked for the class-per-folder layout, and only then renamed to its
final name. An interrupted download leaves no half-filled folder behind.
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

from lrlib.data._filelock import exclusive
from lrlib.data.preload import DECODE_ERRORS, ImageDecodeError

__all__ = [
    "ARCHIVES",
    "CLASSES",
    "CONNECT_TIMEOUT",
    "DOWNLOAD_TIMEOUT",
    "DownloadError",
    "RemoteArchive",
    "TEST_ARCHIVE",
    "TRAIN_ARCHIVE",
    "download_archive",
    "has_split",
    "unreachable_reason",
    "validate_image_folder",
]

CLASSES = ("paper", "rock", "scissors")
"""The class folders, in the (alphabetical) order ``ImageFolder`` numbers them."""

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


def has_split(folder: Path) -> bool:
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
    split into the same ``root`` take turns (:func:`lrlib.data._filelock.exclusive`):
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
    if has_split(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    partial_prefix = f".{archive.folder}."
    with exclusive(root / f"{partial_prefix}lock"):
        # Another process may have finished this download while this one waited.
        if has_split(target):
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
