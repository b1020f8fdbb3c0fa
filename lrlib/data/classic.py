"""The classic data sets of the walk-through: Fashion-MNIST and CIFAR-10.

The "classic walk-through" chapter trains a small CNN with explicit ``train``
and ``test`` functions. By default it uses the book's own Rock-Paper-Scissors
images; one argument switches it to one of torchvision's classic data sets,
when they are on disk (or can be downloaded)::

    data = load_classic("fashion-mnist", "data")
    train_loader, test_loader = data.loaders(64, generator=seed_everything(13))

Both splits get the same transform -- ``ToImage()``, ``ToDtype(float32,
scale=True)`` and a :class:`~torchvision.transforms.v2.Normalize` whose mean
and standard deviation per channel are computed from the **training** images
only, over all their pixels (population standard deviation, as
:mod:`lrlib.stats` explains).

torchvision's own errors are translated into ones that say what to do: a data
set that is missing raises :class:`FileNotFoundError` naming the folder it was
looked for in, and so does a download that fails (no network, a server that
does not answer, a checksum that does not match), with the original error
chained as its cause.

Importing this module has no side effects: nothing is read or downloaded
before :func:`load_classic` is called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets
from torchvision.datasets import VisionDataset
from torchvision.datasets.vision import StandardTransform
from torchvision.transforms import v2

from lrlib.data.pipeline import split_loaders
from lrlib.stats import loader_stats

__all__ = [
    "load_classic",
]

CLASSIC_DATASETS: dict[str, type[VisionDataset]] = {
    "fashion-mnist": datasets.FashionMNIST,
    "cifar10": datasets.CIFAR10,
}
"""The names :func:`load_classic` accepts, and the torchvision class behind each."""

_STATS_CHUNK = 1024
"""Images summarized at a time
when the normalizer is fitted (bounds the memory used).
"""


@dataclass(frozen=True)
class ClassicData:
    """One classic data set, both splits standardized with training statistics.

    Attributes:
        name: the key of :data:`CLASSIC_DATASETS` it was loaded with.
        train: the training split, a torchvision data set whose transform is
            ``ToImage()``, ``ToDtype(float32, scale=True)`` and ``normalizer``.
        test: the test split, with the same transform (hence standardized with
            the *training* statistics).
        normalizer: the ``Normalize`` learned on the training split only.
        classes: the class names, in label order.
        image_shape: ``(C, H, W)`` of one transformed image: ``(1, 28, 28)``
            for Fashion-MNIST, ``(3, 32, 32)`` for CIFAR-10.
    """

    name: str
    train: Dataset
    test: Dataset
    normalizer: v2.Normalize
    classes: list[str]
    image_shape: tuple[int, int, int]

    def loaders(
        self, batch_size: int = 64, *, generator: torch.Generator | None = None
    ) -> tuple[DataLoader, DataLoader]:
        """Build the training and test loaders.

        Args:
            batch_size: images per mini-batch, a positive integer.
            generator: drives the shuffling of the training loader, so that
                runs repeat; pass the one :func:`lrlib.seeding.seed_everything`
                returns.

        Returns:
            ``(train_loader, test_loader)``: the training loader reshuffles
            every epoch, the test loader keeps the data set's order.

        Raises:
            ValueError: ``batch_size`` is not a positive integer (``True`` is
                not accepted as ``1``).

        Example:
            >>> # downloads a data set
            >>> data = load_classic("fashion-mnist")  # doctest: +SKIP
            >>> generator = torch.Generator().manual_seed(13)
            >>> train, test = data.loaders(64, generator=generator)  # doctest: +SKIP
            >>> images, labels = next(iter(train))  # doctest: +SKIP
            >>> images.shape  # doctest: +SKIP
            torch.Size([64, 1, 28, 28])
        """
        return split_loaders(self.train, self.test, batch_size, generator=generator)


def load_classic(
    name: str, root: str | os.PathLike[str] = "data", *, download: bool = False
) -> ClassicData:
    """Load Fashion-MNIST or CIFAR-10
    and standardize both splits with training statistics.

    Shown in chapter 7.

    Args:
        name: ``"fashion-mnist"`` or ``"cifar10"`` (see :data:`CLASSIC_DATASETS`).
        root: the folder holding the data, laid out as torchvision expects
            (``<root>/FashionMNIST/raw/...`` or ``<root>/cifar-10-batches-py/...``).
        download: download the data set into ``root`` when it is not there
            yet. Without it, nothing is downloaded.

    Returns:
        A :class:`ClassicData`.

    Raises:
        ValueError: ``name`` is not a key of :data:`CLASSIC_DATASETS`, or a
            channel of the training images is constant (it cannot be
            standardized).
        FileNotFoundError: the data set is not in ``root`` (or is incomplete or
            corrupted) and ``download`` is false, or the download failed; the
            message says how to fix it.

    Example:
        >>> # downloads a data set
        >>> data = load_classic("cifar10", "data", download=True)  # doctest: +SKIP
        >>> data.image_shape, data.classes[:3]  # doctest: +SKIP
        ((3, 32, 32), ['airplane', 'automobile', 'bird'])
        >>> train_loader, test_loader = data.loaders(128)  # doctest: +SKIP
    """
    if name not in CLASSIC_DATASETS:
        raise ValueError(
            f"unknown classic data set {name!r}; expected one of "
            f"{sorted(CLASSIC_DATASETS)}"
        )
    dataset_class = CLASSIC_DATASETS[name]
    folder = os.path.expanduser(
        os.fspath(root)
    )  # as given: messages show the path the caller wrote

    train = _open_split(dataset_class, name, folder, train=True, download=download)
    # The training split is complete on disk now (downloaded if need be):
    # no second download.
    test = _open_split(dataset_class, name, folder, train=False, download=False)

    normalizer = _fit_normalizer(train.data)
    transform = v2.Compose(
        [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), normalizer]
    )
    for split in (train, test):
        _set_transform(split, transform)

    return ClassicData(
        name=name,
        train=train,
        test=test,
        normalizer=normalizer,
        classes=list(train.classes),
        image_shape=_image_shape(train.data),
    )


def _open_split(
    dataset_class: type[VisionDataset],
    name: str,
    folder: str,
    *,
    train: bool,
    download: bool,
) -> VisionDataset:
    """Construct one split,
    turning torchvision's errors into ones that say what to do.
    """
    split = "training" if train else "test"
    try:
        return dataset_class(folder, train=train, download=download)
    except (OSError, RuntimeError, EOFError) as exc:
        # torchvision raises RuntimeError both for "not found / corrupted" and
        # for a failed download (after trying every mirror); urllib raises
        # URLError (an OSError) for a refused connection, and a bad archive
        # raises OSError or EOFError while it is extracted.
        if download:
            raise FileNotFoundError(
                f"the {name!r} data set ({split} split) could not be downloaded into "
                f"{folder}: {exc}. Check the network connection and try again, or use "
                "the book's own data."
            ) from exc
        raise FileNotFoundError(
            f"the {name!r} data set ({split} split) was not found (or is incomplete or "
            f"corrupted) in {folder}. Run load_classic({name!r}, {folder!r}, "
            "download=True) once on a machine with network access, or use the book's "
            "own data."
        ) from exc


def _set_transform(dataset: VisionDataset, transform: v2.Transform) -> None:
    """Give a constructed torchvision data set a new image transform.

    ``__getitem__`` of MNIST and CIFAR reads ``transform``; ``transforms`` (the
    image/target pair) is what ``repr`` shows, so both are kept in step.
    """
    dataset.transform = transform
    dataset.transforms = StandardTransform(transform, dataset.target_transform)


def _as_nhwc(data: Any) -> torch.Tensor:
    """The raw ``uint8`` images as an ``(N, H, W, C)`` tensor (no copy).

    FashionMNIST keeps a ``uint8`` tensor ``(N, H, W)``; CIFAR10 a ``uint8``
    numpy array ``(N, H, W, C)``.
    """
    images = (
        torch.as_tensor(np.asarray(data))
        if not isinstance(data, torch.Tensor)
        else data
    )
    if images.dtype != torch.uint8 or images.ndim not in (3, 4):
        raise TypeError(
            f"expected uint8 images (N, H, W) or (N, H, W, C), got {images.dtype} of "
            f"shape {tuple(images.shape)}"
        )
    return images.unsqueeze(-1) if images.ndim == 3 else images


def _image_shape(data: Any) -> tuple[int, int, int]:
    """``(C, H, W)`` of one image once ``ToImage`` has made a tensor of it."""
    _, height, width, channels = _as_nhwc(data).shape
    return (int(channels), int(height), int(width))


def _fit_normalizer(data: Any) -> v2.Normalize:
    """``Normalize`` with the mean and pooled standard deviation
    per channel of ``uint8`` images.

    The images are scaled to [0, 1] in float64 a chunk at a time (which keeps
    the memory small even for CIFAR-10's 153 million values) and summarized
    by :func:`lrlib.stats.loader_stats`, the same streaming statistics that
    chapter 1 learns the book's normalizer with.

    Raises:
        ValueError: there are no training images, or a channel is constant.
    """
    images = _as_nhwc(data)
    chunks = (
        images[start : start + _STATS_CHUNK].permute(0, 3, 1, 2).to(torch.float64)
        / 255.0
        for start in range(0, images.shape[0], _STATS_CHUNK)
    )
    return loader_stats(chunks).normalizer()
