"""The book's data pipeline in one call, as chapter 1 builds it step by step.

Chapter 1 reads the Rock-Paper-Scissors folders with ``ImageFolder``, resizes
the images to 28x28 float tensors, learns ``Normalize`` from the training split
only, and standardizes both splits with it. Later chapters need the same
tensors many times over, so :func:`load_rps_data` does all of that once,
decoding each image a single time (:class:`lrlib.data.preload.Preloaded`).

The decoded (not yet standardized) tensors are also kept in a cache file
beside the data, checked against its SHA-256 at every read (the private
:mod:`lrlib.data._cache`), so later chapters skip the decoding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from lrlib._validation import check_int
from lrlib.data._cache import cache_path, read_cache, write_cache
from lrlib.data.preload import ImageDecodeError, Preloaded
from lrlib.data.rps import RPSFolders, get_rps
from lrlib.stats import fit_normalizer

__all__ = [
    "RPSData",
    "load_rps_data",
    "split_loaders",
]


def _base_transform(size: int = 28) -> v2.Compose:
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

    Shown in chapters 1, 2, 3, 7, 8 and 9.

    Args:
        size: the side of the square images the model sees.
        source: ``"real"``, ``"synthetic"`` or ``"auto"``; ``None`` reads
            ``LRBOOK_DATA_SOURCE`` (see :func:`lrlib.data.rps.get_rps`).
        root: the data folder; ``None`` reads ``LRBOOK_DATA_DIR``.
        num_workers: processes that decode the images.
        cache: read the decoded tensors from, and write them to, a cache file
            beside the data (see :mod:`lrlib.data._cache`). The tensors are
            the same either way; only the time differs.

    Returns:
        An :class:`RPSData`. Print ``data.folders`` to say which images these are.

    Raises:
        ImageDecodeError: an image file cannot be decoded (truncated, say);
            the message names it and the folder to delete so that
            :func:`~lrlib.data.rps.get_rps` fetches or draws the images again.
        ValueError: the two splits have different classes, or an invalid
            ``size`` or ``source``; see also :func:`lrlib.data.rps.get_rps`.

    Example:
        >>> # needs the data set
        >>> data = load_rps_data()  # doctest: +SKIP
        >>> generator = seed_everything(13)  # doctest: +SKIP
        >>> train, val = data.loaders(16, generator=generator)  # doctest: +SKIP
    """
    folders = get_rps(source, root)
    transform = _base_transform(size)
    train_images = ImageFolder(folders.train, transform=transform)
    val_images = ImageFolder(folders.test, transform=transform)
    if train_images.classes != val_images.classes:
        raise ValueError(
            f"the training classes {train_images.classes} differ from the test classes "
            f"{val_images.classes} ({folders.train} vs {folders.test})"
        )
    cache_file = cache_path(train_images, val_images, size) if cache else None
    decoded = read_cache(cache_file, train_images.classes) if cache_file else None
    if decoded is None:
        train = _decode(train_images, folders, num_workers)
        val = _decode(val_images, folders, num_workers)
        if cache_file:
            write_cache(cache_file, train, val, train_images.classes)
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
