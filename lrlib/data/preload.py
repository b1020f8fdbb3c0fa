"""Decode a data set once, keep it in memory, and train on it for many epochs.

Reading the Rock-Paper-Scissors images means, for every image and every
epoch, decoding a 300x300 PNG and resizing it to 28x28: several milliseconds
per image, over ten seconds per epoch of 2,520 images. Yet that work gives the
same result every time. :class:`Preloaded` does it once per item, keeps the
small tensors (2,520 x 3 x 28 x 28 float32 is about 24 MB), and applies only a
cheap per-item transform -- ``Normalize``, or a random augmentation -- on every
access. Training then spends its time training.

The expensive part is the base data set's own transform, for example::

    base = ImageFolder("rps", transform=v2.Compose([
        v2.Resize((28, 28)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]))
    raw = Preloaded(base)                       # decodes every image, once
    normalize = lrlib.stats.batch_stats(raw.images).normalizer()
    train = raw.with_transform(normalize)       # no decoding: shares raw.images

Only deterministic work belongs in the base transform: a random augmentation
there would be drawn once and then frozen for every epoch. Put augmentations in
the per-item ``transform`` instead.

An image file that cannot be read (truncated by an interrupted copy, say) is
reported as an :class:`ImageDecodeError` that names the file, whether it was
read in this process or in a worker.
"""

from __future__ import annotations

import copy
import numbers
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image
from torch.utils.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    Subset,
    get_worker_info,
)

from lrlib._validation import check_int

__all__ = [
    "Preloaded",
]

Transform = Callable[[torch.Tensor], torch.Tensor]

DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    Image.DecompressionBombError,
)
"""What reading or decoding an image file raises: Pillow reports a truncated or
damaged file as an ``OSError`` ("image file is truncated", "cannot identify
image file"), some of its plugins as a ``SyntaxError``."""


class ImageDecodeError(OSError, ValueError):
    """An image file that cannot be read or decoded, with its path.

    It is an ``OSError``, as Pillow's own error is (so existing ``except
    OSError`` handlers still catch it), and a ``ValueError``, as
    :func:`lrlib.validate_image_folder` reports bad data.

    Args:
        message: the whole message, naming the file and what to do.
        path: the file, when the data set knows it (``ImageFolder`` does).
        index: the item of the data set that holds it, when known.

    Attributes:
        path: as given (a string), or None.
        index: as given, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        index: int | None = None,
    ):
        super().__init__(message)
        self.path = os.fspath(path) if path is not None else None
        self.index = index

    def __reduce__(self):  # keep path and index through pickling (worker processes)
        return (_rebuild_decode_error, (self.args[0], self.path, self.index))


def _rebuild_decode_error(
    message: str, path: str | None, index: int | None
) -> ImageDecodeError:
    return ImageDecodeError(message, path=path, index=index)


def _source_path(dataset: Dataset[Any], index: int) -> str | None:
    """The file behind item ``index`` of ``dataset``, when the data set says.

    Understands torchvision's folder data sets (``samples`` of ``(path,
    label)`` pairs, as in ``ImageFolder``) and :class:`~torch.utils.data.Subset`
    of them; None for anything else.
    """
    while isinstance(dataset, Subset):
        index = int(dataset.indices[index])
        dataset = dataset.dataset
    samples = getattr(dataset, "samples", None)
    try:
        path = samples[index][0]  # type: ignore[index]
    except (TypeError, IndexError, KeyError):
        return None
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else None


class Preloaded(Dataset[tuple[torch.Tensor, int]]):
    """An in-memory copy of a data set of ``(image, label)`` pairs.

    Shown in chapter 1.

    On construction every item of ``dataset`` is read once, in order; the images
    (which must be tensors of a common shape) are stacked into
    :attr:`images` and the labels into :attr:`targets`. Indexing then returns
    ``(transform(images[i]), int(targets[i]))`` -- the same kind of pair as the
    base data set, so DataLoaders batch it the same way.

    Args:
        dataset: a map-style data set whose items are ``(image, label)`` with
            ``image`` a tensor (use ``ToImage``/``ToDtype`` in its transform)
            and ``label`` an integer; e.g. a torchvision ``ImageFolder``.
        transform: a cheap function applied to each image on every access,
            e.g. ``Normalize`` or an augmentation. It must not modify its input
            in place (torchvision's transforms do not, unless asked with
            ``inplace=True``), since the input is the cached tensor.
            Default: None (images are returned as cached).
        num_workers: worker processes used to read the base data set once,
            as in :class:`~torch.utils.data.DataLoader`. Default: 0 (read in
            this process).

    Attributes:
        images: all images, a tensor ``(N, C, H, W)``, as the base data set
            produced them (before ``transform``).
        targets: all labels, an int64 tensor ``(N,)``.
        transform: the per-item transform, or None.

    Raises:
        ImageDecodeError: an image file of ``dataset`` cannot be read or
            decoded (for example, it is truncated); the message names the
            file when the data set knows it (``ImageFolder`` does).
        TypeError: ``dataset`` has no length, an item is not an
            ``(image, label)`` pair, an image is not a tensor or a label not
            an integer, or ``transform`` is not callable.
        ValueError: ``dataset`` is empty, images differ in shape (give
            ``Resize`` a ``(height, width)`` pair so that every image gets the
            same size), or ``num_workers`` is negative.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> labels = torch.tensor([0, 1, 2, 0, 1, 2])
        >>> base = TensorDataset(torch.rand(6, 3, 4, 4), labels)
        >>> cached = Preloaded(base)
        >>> cached.images.shape, len(cached)
        (torch.Size([6, 3, 4, 4]), 6)
        >>> doubled = cached.with_transform(lambda image: 2 * image)
        >>> torch.equal(doubled[1][0], 2 * base[1][0]), doubled[1][1]
        (True, 1)
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        transform: Transform | None = None,
        *,
        num_workers: int = 0,
    ) -> None:
        if not hasattr(dataset, "__len__"):
            raise TypeError(
                "dataset must be a map-style data set with a length, got "
                f"{type(dataset).__name__}"
            )
        if len(dataset) == 0:  # type: ignore[arg-type]
            raise ValueError(
                "dataset is empty; expected at least one (image, label) item"
            )
        num_workers = check_int("num_workers", num_workers, low=0)
        _check_transform(transform)

        # batch_size=None hands over the items one by one, in order, unbatched.
        # _Guarded turns a decoding error into a value, so that it reaches this
        # process whole (with the file's path) even from a worker.
        guarded = dataset if isinstance(dataset, IterableDataset) else _Guarded(dataset)
        reader = DataLoader(
            guarded, batch_size=None, shuffle=False, num_workers=num_workers
        )
        images: list[torch.Tensor] = []
        targets: list[int] = []
        for index, item in enumerate(reader):
            if isinstance(item, _Unreadable):
                raise item.error() from item.cause
            image, target = _unpack(item, index)
            if images and image.shape != images[0].shape:
                raise ValueError(
                    f"item {index} has an image of shape {tuple(image.shape)}, but "
                    f"item 0 has {tuple(images[0].shape)}; all images must have the "
                    "same shape (resize them to a fixed (height, width) in the base "
                    "transform)"
                )
            images.append(image)
            targets.append(target)

        self.images = torch.stack(images)
        self.targets = torch.tensor(targets, dtype=torch.int64)
        self.transform = transform
        self._classes: list[str] | None = getattr(dataset, "classes", None)
        self._class_to_idx: dict[str, int] | None = getattr(
            dataset, "class_to_idx", None
        )

    @property
    def classes(self) -> list[str]:
        """The class names of the base data set (e.g. ``ImageFolder.classes``).

        Raises:
            AttributeError: the base data set had no ``classes``.
        """
        if self._classes is None:
            raise AttributeError("the base data set has no `classes` attribute")
        return self._classes

    @property
    def class_to_idx(self) -> dict[str, int]:
        """The class name to label mapping of the base data set.

        Raises:
            AttributeError: the base data set had no ``class_to_idx``.
        """
        if self._class_to_idx is None:
            raise AttributeError("the base data set has no `class_to_idx` attribute")
        return self._class_to_idx

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    @classmethod
    def from_tensors(
        cls,
        images: torch.Tensor,
        targets: torch.Tensor,
        transform: Transform | None = None,
        *,
        classes: list[str] | None = None,
    ) -> Preloaded:
        """Wrap images and labels that are already decoded
        (for example, read from a cache).

        Args:
            images: a tensor ``(N, C, H, W)``.
            targets: integer labels, a tensor ``(N,)``.
            transform: the per-item transform, as in the constructor.
            classes: the class names in label order, if known.

        Returns:
            A :class:`Preloaded` that holds these tensors (not copies).

        Raises:
            TypeError: ``images`` or ``targets`` is not a tensor, or ``targets``
                is not of an integer type.
            ValueError: the shapes do not match or there are no images.
        """
        if not isinstance(images, torch.Tensor) or not isinstance(
            targets, torch.Tensor
        ):
            raise TypeError(
                f"images and targets must be tensors, got {type(images).__name__} and "
                f"{type(targets).__name__}"
            )
        if targets.is_floating_point() or targets.dtype == torch.bool:
            raise TypeError(
                f"targets must be integer labels, got dtype {targets.dtype}"
            )
        if images.ndim < 1 or len(images) == 0 or targets.shape != (len(images),):
            raise ValueError(
                f"expected images (N, ...) with N >= 1 and targets (N,), got shapes "
                f"{tuple(images.shape)} and {tuple(targets.shape)}"
            )
        _check_transform(transform)
        cached = cls.__new__(cls)
        cached.images = images
        cached.targets = targets.to(torch.int64)
        cached.transform = transform
        cached._classes = list(classes) if classes is not None else None
        cached._class_to_idx = (
            {name: i for i, name in enumerate(classes)} if classes is not None else None
        )
        return cached

    def with_transform(self, transform: Transform | None) -> Preloaded:
        """Return a view of the same cached images with another per-item transform.

        Nothing is read or copied: the new data set shares :attr:`images` and
        :attr:`targets` with this one (so statistics can be computed on the raw
        images, and normalized or augmented views made afterwards). This data
        set is left unchanged.

        Args:
            transform: the new per-item transform, or None for the raw images.

        Returns:
            A new :class:`Preloaded`.

        Raises:
            TypeError: ``transform`` is not callable (nor None).
        """
        _check_transform(transform)
        view = copy.copy(self)  # shallow: the tensors are shared, not copied
        view.transform = transform
        return view

    def __repr__(self) -> str:
        shape = tuple(self.images.shape[1:])
        return (
            f"{type(self).__name__}({len(self)} images of shape {shape}, "
            f"transform={self.transform!r})"
        )


class _Unreadable:
    """Stands for an item whose image could not be read, with what went wrong.

    The exception itself is kept only in the process that reads (to chain it);
    from a worker only its text travels, as an exception may not pickle.
    """

    def __init__(self, index: int, path: str | None, cause: BaseException) -> None:
        self.index = index
        self.path = path
        self.what_happened = f"{type(cause).__name__}: {cause}"
        self.cause = cause if get_worker_info() is None else None

    def error(self) -> ImageDecodeError:
        what = (
            f"image file {self.path} (item {self.index})"
            if self.path
            else f"the image of item {self.index}"
        )
        advice = (
            "The file is probably truncated or damaged (an interrupted download or "
            "copy): replace it or delete it. lrlib.validate_image_folder(folder, "
            "check_images=True) checks a whole class-per-folder data set."
            if self.path
            else "Check the data set's files, or its transform, for that item."
        )
        return ImageDecodeError(
            f"{what} cannot be decoded: {self.what_happened}. {advice}",
            path=self.path,
            index=self.index,
        )


class _Guarded(Dataset[Any]):
    """``dataset``, with an :class:`_Unreadable`
    in place of an item that raises a decoding error.
    """

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> object:
        try:
            return self.dataset[index]
        except DECODE_ERRORS as exc:
            return _Unreadable(index, _source_path(self.dataset, index), exc)


def _check_transform(transform: object) -> None:
    if transform is not None and not callable(transform):
        raise TypeError(
            f"transform must be callable or None, got {type(transform).__name__}"
        )


def _unpack(item: object, index: int) -> tuple[torch.Tensor, int]:
    if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 2:
        raise TypeError(
            f"item {index}: expected an (image, label) pair, got {type(item).__name__}"
        )
    image, target = item
    if not isinstance(image, torch.Tensor):
        raise TypeError(
            f"item {index}: expected the image to be a tensor (add ToImage() and "
            "ToDtype(torch.float32, scale=True) to the base transform), got "
            f"{type(image).__name__}"
        )
    if (
        isinstance(target, torch.Tensor)
        and target.numel() == 1
        and not target.is_floating_point()
    ):
        target = target.item()
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(f"item {index}: expected an integer label, got {target!r}")
    return image, int(target)
