"""The book's data pipeline in one call, as chapter 1 builds it step by step.

Chapter 1 reads the Rock-Paper-Scissors folders with ``ImageFolder``, resizes
the images to 28x28 float tensors, learns ``Normalize`` from the training split
only, and standardizes both splits with it. Later chapters need the same
tensors many times over, so :func:`load_rps_data` does all of that once,
decoding each image a single time (:class:`lrlib.preload.Preloaded`).

Decoding 2,892 PNGs still takes several seconds, and every chapter after the
first needs the same tensors, so the decoded (not yet standardized) tensors
are also kept in a cache file beside the data. Its name is a fingerprint of
every image file (path, size, modification time), the image size and the
torch and torchvision versions: change any of them and the images are decoded
afresh. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from lrlib.preload import ImageDecodeError, Preloaded
from lrlib.rps import RPSFolders, get_rps
from lrlib.stats import fit_normalizer
from lrlib.validation import check_int

__all__ = [
    "RPSData",
    "load_rps_data",
    "base_transform",
    "decoded_cache_path",
    "split_loaders",
]

CACHE_FORMAT = 1
"""Bumped whenever the cache file's layout changes."""
CACHE_FOLDER = ".lrlib-cache"
"""Folder, beside the two split folders, that holds decoded tensors."""


def base_transform(size: int = 28) -> v2.Compose:
    """Resize to ``size`` x ``size``, make a tensor, scale to floats in [0, 1]."""
    check_int("size", size, low=1)
    return v2.Compose(
        [v2.Resize((size, size)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    )


@dataclass(frozen=True)
class RPSData:
    """Standardized Rock-Paper-Scissors tensors, ready for loaders.

    Attributes:
        folders: where the images came from, and which source they are.
        train: the training split, standardized (a view of the cached tensors).
        val: the test split, used for validation, standardized with the
            *training* statistics.
        normalizer: the ``Normalize`` learned on the training split.
        classes: the class names, in label order.
    """

    folders: RPSFolders
    train: Preloaded
    val: Preloaded
    normalizer: v2.Normalize
    classes: list[str]

    def loaders(
        self,
        batch_size: int = 16,
        *,
        generator: torch.Generator | None = None,
        train_transform: v2.Transform | None = None,
    ) -> tuple[DataLoader, DataLoader]:
        """A shuffled training loader and an unshuffled validation loader.

        Args:
            batch_size: the mini-batch size of both loaders.
            generator: drives the shuffling, so that runs repeat; pass the one
                :func:`lrlib.seeding.seed_everything` returns.
            train_transform: an extra per-image transform for training only
                (an augmentation), applied after standardization.

        Returns:
            ``(train_loader, val_loader)``.

        Raises:
            ValueError: ``batch_size`` is not a positive integer.
        """
        train = self.train
        if train_transform is not None:
            train = train.with_transform(v2.Compose([self.normalizer, train_transform]))
        return split_loaders(train, self.val, batch_size, generator=generator)


def split_loaders(
    train: Dataset,
    val: Dataset,
    batch_size: int,
    *,
    generator: torch.Generator | None = None,
) -> tuple[DataLoader, DataLoader]:
    """The book's pair of loaders: only the training one shuffles.

    Args:
        train: the training data set; its loader reshuffles every epoch.
        val: the validation (or test) data set; its loader keeps its order.
        batch_size: the mini-batch size of both loaders, a positive integer
            (``True`` is not accepted as ``1``).
        generator: drives the shuffling, so that runs repeat.

    Returns:
        ``(train_loader, val_loader)``.

    Raises:
        ValueError: ``batch_size`` is not a positive integer.
    """
    check_int("batch_size", batch_size, low=1)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
        DataLoader(val, batch_size=batch_size),
    )


def load_rps_data(
    size: int = 28,
    *,
    source: str | None = None,
    root: str | os.PathLike[str] | None = None,
    num_workers: int = 2,
    cache: bool = True,
) -> RPSData:
    """Find the images, decode them once, and standardize them with training statistics.

    Args:
        size: the side of the square images the model sees.
        source: ``"real"``, ``"synthetic"`` or ``"auto"``; ``None`` reads
            ``LRBOOK_DATA_SOURCE`` (see :func:`lrlib.rps.get_rps`).
        root: the data folder; ``None`` reads ``LRBOOK_DATA_DIR``.
        num_workers: processes that decode the images.
        cache: read the decoded tensors from, and write them to, a cache file
            beside the data (see :func:`decoded_cache_path`). The tensors are
            the same either way; only the time differs.

    Returns:
        An :class:`RPSData`. Print ``data.folders`` to say which images these are.

    Raises:
        ImageDecodeError: an image file cannot be decoded (truncated, say);
            the message names it and the folder to delete so that
            :func:`~lrlib.rps.get_rps` fetches or draws the images again.
        ValueError: the two splits have different classes, or an invalid
            ``size`` or ``source``; see also :func:`lrlib.rps.get_rps`.

    Example:
        >>> # needs the data set
        >>> data = load_rps_data()  # doctest: +SKIP
        >>> generator = seed_everything(13)  # doctest: +SKIP
        >>> train, val = data.loaders(16, generator=generator)  # doctest: +SKIP
    """
    folders = get_rps(source, root)
    transform = base_transform(size)
    train_images = ImageFolder(folders.train, transform=transform)
    val_images = ImageFolder(folders.test, transform=transform)
    if train_images.classes != val_images.classes:
        raise ValueError(
            f"the training classes {train_images.classes} differ from the test classes "
            f"{val_images.classes} ({folders.train} vs {folders.test})"
        )
    cache_file = decoded_cache_path(train_images, val_images, size) if cache else None
    decoded = _read_cache(cache_file, train_images.classes) if cache_file else None
    if decoded is None:
        train = _decode(train_images, folders, num_workers)
        val = _decode(val_images, folders, num_workers)
        if cache_file:
            _write_cache(cache_file, train, val, train_images.classes)
    else:
        train, val = decoded
    normalizer = fit_normalizer(
        DataLoader(train, batch_size=256)
    )  # training split only
    return RPSData(
        folders=folders,
        train=train.with_transform(normalizer),
        val=val.with_transform(normalizer),
        normalizer=normalizer,
        classes=list(train_images.classes),
    )


def _decode(images: ImageFolder, folders: RPSFolders, num_workers: int) -> Preloaded:
    """Decode one split, saying which folder to delete when a file is damaged."""
    try:
        return Preloaded(images, num_workers=num_workers)
    except ImageDecodeError as exc:
        # The stand-in is redrawn only as a whole;
        # a real split is downloaded again on its own.
        folder = (
            Path(images.root).parent
            if folders.source == "synthetic"
            else Path(images.root)
        )
        again = (
            "draws the stand-in again"
            if folders.source == "synthetic"
            else ("downloads that split again and checks its SHA-256")
        )
        raise ImageDecodeError(
            f"{exc} These are the {folders.source} Rock-Paper-Scissors images: delete "
            f"{folder} and run again; get_rps() then {again}.",
            path=exc.path,
            index=exc.index,
        ) from exc


def decoded_cache_path(
    train_images: ImageFolder, val_images: ImageFolder, size: int
) -> Path:
    """Where the decoded tensors of these two splits at this size are cached.

    The file lies in :data:`CACHE_FOLDER` beside the training folder; its name
    holds a digest of every image's path, byte size and modification time,
    of ``size``, and of the torch and torchvision versions (a new version may
    resize differently).
    """
    digest = hashlib.sha256()
    digest.update(
        f"{CACHE_FORMAT}|{size}|{torch.__version__}|{torchvision.__version__}".encode()
    )
    for images in (train_images, val_images):
        base = Path(images.root)
        digest.update(f"|{base.name}".encode())
        for path, label in images.samples:
            stat = os.stat(path)
            relative = Path(path).relative_to(base).as_posix()
            digest.update(
                f"|{relative}:{label}:{stat.st_size}:{stat.st_mtime_ns}".encode()
            )
    return (
        Path(train_images.root).parent
        / CACHE_FOLDER
        / f"decoded-{size}px-{digest.hexdigest()[:20]}.pt"
    )


def _read_cache(path: Path, classes: list[str]) -> tuple[Preloaded, Preloaded] | None:
    try:
        saved = torch.load(path, weights_only=True)
        if saved["format"] != CACHE_FORMAT or saved["classes"] != classes:
            return None
        return tuple(  # type: ignore[return-value]
            Preloaded.from_tensors(
                saved[f"{split}_images"], saved[f"{split}_targets"], classes=classes
            )
            for split in ("train", "val")
        )
    except Exception:  # noqa: BLE001 - missing, truncated, foreign or stale: decode instead
        return None


def _write_cache(
    path: Path, train: Preloaded, val: Preloaded, classes: list[str]
) -> None:
    saved = {
        "format": CACHE_FORMAT,
        "classes": list(classes),
        "train_images": train.images,
        "train_targets": train.targets,
        "val_images": val.images,
        "val_targets": val.targets,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a private file, then rename: a reader never sees half a cache.
        handle, partial = tempfile.mkstemp(
            dir=path.parent, prefix=path.name, suffix=".partial"
        )
        os.close(handle)
        try:
            torch.save(saved, partial)
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    except OSError:
        pass  # a read-only data folder: the cache is an optimization, not a requirement
