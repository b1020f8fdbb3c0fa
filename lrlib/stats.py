"""Per-channel image statistics, and the normalizer built from them.

Standardizing images means, for every channel ``c``::

    x_standardized = (x - mean[c]) / std[c]

which is exactly what :class:`torchvision.transforms.v2.Normalize` computes.
The two numbers per channel must describe *all pixels of all training images*
taken together:

* ``mean[c]`` is the average of every pixel value in channel ``c``;
* ``std[c]`` is the **pooled population standard deviation** of those same
  pixels (``ddof=0``, i.e. divide by the number of pixels, like
  ``torch.std(..., unbiased=False)``).

Why pooled? Because after ``Normalize`` we want the pixels of the training set
to have mean 0 and standard deviation 1, and that is a statement about all
pixels together. A tempting shortcut -- the average of the per-image standard
deviations -- is a different, systematically *smaller* number: it ignores how
much the images differ from each other (a dark image and a bright image can
each be flat, yet together they spread a lot). By the law of total variance::

    pooled variance = mean of per-image variances + variance of per-image means

and since the mean of square roots is at most the square root of the mean,
the average of per-image standard deviations never exceeds the pooled one.
:class:`ChannelStats` carries both numbers, so the book can show the gap.

Why population (``ddof=0``) rather than sample (``ddof=1``)? Normalize is a
fixed rescaling of these pixels, not an estimate of an unknown population; with
``ddof=0`` the standardized training pixels have standard deviation exactly 1.
With the 2,520 x 28 x 28 pixels of the book's training set the two differ by a
factor ``sqrt(n / (n - 1))`` ~ 1.0000003 anyway.

The statistics are streamed: each mini-batch is summarized in float64 as
``(count, mean, M2)`` -- ``M2`` being the sum of squared deviations from the
mean -- and batches are merged with Chan et al.'s parallel formula, so that
neither the order of batches nor a large mean relative to the spread loses
precision.

Fit the statistics on the **training split only**. Using validation or test
images to choose ``mean`` and ``std`` leaks information about data the model
is evaluated on into its preprocessing, and the evaluation is no longer an
honest estimate of performance on unseen data. The same training statistics are
then applied to every split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms import v2

from lrlib.numerics import exact_sqrt

__all__ = [
    "ChannelStats",
    "batch_stats",
    "denormalize",
    "fit_normalizer",
    "loader_stats",
    "to_displayable",
]


@dataclass(frozen=True, eq=False)
class ChannelStats:
    """Per-channel statistics of a set of images, mergeable across batches.

    Shown in chapter 1.

    Build one with :func:`batch_stats` (one tensor of images) or
    :func:`loader_stats` (a whole DataLoader); combine two with :meth:`merge`.
    All per-channel tensors are 1-D, float64, on the CPU, with one entry per
    channel.

    Attributes:
        n_images: how many images were seen.
        count: how many pixels per channel were seen (``n_images * H * W``).
        mean: per-channel mean of all pixels.
        m2: per-channel sum of squared deviations of all pixels from ``mean``.
        sum_image_stds: per-channel sum, over images, of each image's own
            population standard deviation (kept only to compute
            :attr:`mean_of_image_stds`).

    Example:
        >>> images = torch.tensor([[[[0.0, 0.0]]], [[[1.0, 1.0]]]])  # 2 flat images
        >>> stats = batch_stats(images)
        >>> stats.mean.tolist(), stats.std.tolist(), stats.mean_of_image_stds.tolist()
        ([0.5], [0.5], [0.0])
    """

    n_images: int
    count: int
    mean: Tensor
    m2: Tensor
    sum_image_stds: Tensor

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self.mean.numel()

    @property
    def var(self) -> Tensor:
        """Pooled population variance of all pixels, per channel (``M2 / count``)."""
        return self.m2 / self.count

    @property
    def std(self) -> Tensor:
        """Pooled population standard deviation of all pixels, per channel.

        This is the number to standardize with. The square root is NumPy's,
        which is correctly rounded on every processor; ``Tensor.sqrt`` on
        the CPU goes through MKL and can differ in the last bit between Intel
        and AMD, which would change every standardized pixel and so every
        training run downstream (see :mod:`lrlib.numerics`).
        """
        return exact_sqrt(self.var)

    @property
    def mean_of_image_stds(self) -> Tensor:
        """Average over images of each image's own standard deviation, per channel.

        Shown for comparison only: it is *not* the standard deviation of the
        pixels, and for images of equal size it is never larger than :attr:`std`.
        """
        return self.sum_image_stds / self.n_images

    def merge(self, other: ChannelStats) -> ChannelStats:
        """Return the statistics of the union of the images
        behind ``self`` and ``other``.

        Uses the parallel update of Chan, Golub and LeVeque (1979): with
        ``delta = mean_b - mean_a`` and ``n = n_a + n_b``::

            mean = mean_a + delta * n_b / n
            M2   = M2_a + M2_b + delta**2 * n_a * n_b / n

        Args:
            other: statistics of another set of images with the same channels.

        Returns:
            A new :class:`ChannelStats`; neither input is changed.

        Raises:
            TypeError: ``other`` is not a :class:`ChannelStats`.
            ValueError: the two have a different number of channels.
        """
        if not isinstance(other, ChannelStats):
            raise TypeError(
                f"can only merge with ChannelStats, got {type(other).__name__}"
            )
        if other.n_channels != self.n_channels:
            raise ValueError(
                f"cannot merge statistics of {self.n_channels} channel(s) with "
                f"statistics of {other.n_channels} channel(s)"
            )
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + delta.square() * (self.count * other.count / count)
        return ChannelStats(
            n_images=self.n_images + other.n_images,
            count=count,
            mean=mean,
            m2=m2,
            sum_image_stds=self.sum_image_stds + other.sum_image_stds,
        )

    def normalizer(self) -> v2.Normalize:
        """Return ``Normalize(mean, std)`` with this mean and pooled standard deviation.

        Raises:
            ValueError: some channel has zero standard deviation (a constant
                channel cannot be standardized).

        Example:
            >>> stats = batch_stats(torch.tensor([[[[0.0, 1.0]]]]))
            >>> stats.normalizer()
            Normalize(mean=[0.5], std=[0.5], inplace=False)
        """
        std = self.std
        if bool((std == 0).any()):
            flat = [c for c, s in enumerate(std.tolist()) if s == 0]
            raise ValueError(
                f"channel(s) {flat} have zero standard deviation; expected images "
                "whose every channel varies"
            )
        return v2.Normalize(mean=self.mean.tolist(), std=std.tolist())


def batch_stats(images: Tensor) -> ChannelStats:
    """Per-channel statistics of one mini-batch of images.

    Shown in chapter 1.

    Args:
        images: a floating-point tensor of shape ``(N, C, H, W)`` with at least
            one image and one pixel, on any device. Integer images (``uint8``
            straight out of ``ToImage``) are rejected: convert them with
            ``ToDtype(torch.float32, scale=True)`` first, so that the
            statistics are on the same [0, 1] scale as the images they will
            normalize.

    Returns:
        A :class:`ChannelStats` computed in float64 on the CPU.

    Raises:
        TypeError: ``images`` is not a tensor, or not floating point.
        ValueError: ``images`` is not 4-D, or has no images or no pixels.

    Example:
        >>> images = torch.rand(8, 3, 28, 28)
        >>> stats = batch_stats(images)
        >>> std = images.double().std(dim=(0, 2, 3), unbiased=False)
        >>> torch.allclose(stats.std, std)
        True
    """
    _check_images(images, ndims=(4,), name="images")
    n, c, h, w = images.shape
    if n == 0 or h * w == 0:
        raise ValueError(
            "images must hold at least one image of at least one pixel, "
            f"got shape {tuple(images.shape)}"
        )
    # Float64 on the CPU: exact enough for millions of pixels, and MPS has no float64.
    x = images.detach().to(device="cpu", dtype=torch.float64)
    mean = x.mean(dim=(0, 2, 3))
    m2 = (x - mean.view(1, c, 1, 1)).square().sum(dim=(0, 2, 3))
    image_stds = x.std(
        dim=(2, 3), unbiased=False
    )  # (N, C): one std per image and channel
    return ChannelStats(
        n_images=n,
        count=n * h * w,
        mean=mean,
        m2=m2,
        sum_image_stds=image_stds.sum(dim=0),
    )


def loader_stats(loader: Iterable[Tensor | Sequence[Tensor]]) -> ChannelStats:
    """Per-channel statistics over every image a loader yields.

    Shown in chapter 1.

    Args:
        loader: a :class:`~torch.utils.data.DataLoader` (or any iterable) that
            yields either image batches ``(N, C, H, W)`` or tuples/lists whose
            first element is the image batch, such as ``(images, labels)``.
            Batches may have different sizes (e.g. an uneven last batch).

    Returns:
        The :class:`ChannelStats` of all images, identical (up to float64
        rounding) to :func:`batch_stats` of all images stacked together.

    Raises:
        ValueError: the loader yields nothing, or batches disagree on the
            number of channels.
        TypeError: a batch is not a tensor nor a tuple/list starting with one.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> images = torch.rand(10, 3, 4, 4)
        >>> loader = DataLoader(TensorDataset(images, torch.zeros(10)), batch_size=4)
        >>> mean = images.double().mean(dim=(0, 2, 3))
        >>> torch.allclose(loader_stats(loader).mean, mean)
        True
    """
    total: ChannelStats | None = None
    for index, batch in enumerate(loader):
        if isinstance(batch, (tuple, list)):
            if not batch:
                raise TypeError(f"batch {index} is an empty {type(batch).__name__}")
            batch = batch[0]
        if not isinstance(batch, Tensor):
            raise TypeError(
                f"batch {index}: expected a tensor of images or a tuple/list (images, "
                f"labels), got {type(batch).__name__}"
            )
        stats = batch_stats(batch)
        total = stats if total is None else total.merge(stats)
    if total is None:
        raise ValueError(
            "the loader yielded no batches; expected at least one batch of images"
        )
    return total


def fit_normalizer(loader: Iterable[Tensor | Sequence[Tensor]]) -> v2.Normalize:
    """Learn ``Normalize(mean, std)`` from the images of a **training** loader.

    The mean and the pooled population standard deviation of every channel are
    computed over all pixels of all images (see :func:`loader_stats`). Pass the
    training loader only: statistics taken from validation or test data leak
    information about them into preprocessing. The returned transform is then
    used, unchanged, for every split.

    Args:
        loader: yields ``(images, labels)`` (or bare image batches) of
            floating-point images ``(N, C, H, W)``, e.g. the book's temporary
            loader with ``Resize((28, 28))``, ``ToImage()`` and
            ``ToDtype(torch.float32, scale=True)`` and no normalization.

    Returns:
        A :class:`torchvision.transforms.v2.Normalize`.

    Raises:
        ValueError, TypeError: as :func:`loader_stats` and
            :meth:`ChannelStats.normalizer`.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> images = torch.rand(10, 3, 4, 4)
        >>> loader = DataLoader(TensorDataset(images, torch.zeros(10)), batch_size=4)
        >>> normalize = fit_normalizer(loader)
        >>> standardized = normalize(images)
        >>> torch.allclose(standardized.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
        True
        >>> std = standardized.std(dim=(0, 2, 3), unbiased=False)
        >>> torch.allclose(std, torch.ones(3))
        True
    """
    return loader_stats(loader).normalizer()


def denormalize(
    images: Tensor,
    mean: Sequence[float] | Tensor,
    std: Sequence[float] | Tensor,
) -> Tensor:
    """Undo ``Normalize(mean, std)`` for display: ``x * std + mean``, clipped to [0, 1].

    Shown in chapters 1 and 2.

    Standardized images have negative values and values above 1; image viewers
    clip them to [0, 1], which turns everything darker than a channel's mean
    black and the white background grey. Undoing the normalization shows the image the
    model was given, in its original colours. The clipping only guards against
    rounding (or augmentations) stepping slightly outside [0, 1].

    Args:
        images: a floating-point tensor ``(C, H, W)`` or ``(N, C, H, W)``.
        mean: the per-channel means given to ``Normalize`` (``normalize.mean``).
        std: the per-channel standard deviations given to ``Normalize``
            (``normalize.std``).

    Returns:
        A new tensor with the shape, dtype and device of ``images``.

    Raises:
        TypeError: ``images`` is not a floating-point tensor.
        ValueError: ``images`` is not 3-D or 4-D, or ``mean``/``std`` do not have
            one entry per channel.

    Example:
        >>> normalize = v2.Normalize(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
        >>> image = torch.rand(3, 4, 4)
        >>> restored = denormalize(normalize(image), normalize.mean, normalize.std)
        >>> torch.allclose(restored, image)
        True
    """
    _check_images(images, ndims=(3, 4), name="images")
    channels = images.shape[-3]
    shape = (channels, 1, 1)
    mean_t = _per_channel(mean, channels, "mean").to(images).view(shape)
    std_t = _per_channel(std, channels, "std").to(images).view(shape)
    return (images * std_t + mean_t).clamp(0.0, 1.0)


def to_displayable(images: Tensor) -> np.ndarray:
    """Turn channels-first images into a channels-last NumPy array for ``imshow``.

    Shown in chapters 1 and 2.

    ``(C, H, W)`` becomes ``(H, W, C)`` and ``(N, C, H, W)`` becomes
    ``(N, H, W, C)``; a single channel is dropped (``(H, W)``), as
    ``matplotlib`` expects for grey images. Values are not changed: use
    :func:`denormalize` first for standardized images.

    Args:
        images: a tensor ``(C, H, W)`` or ``(N, C, H, W)``, on any device.

    Returns:
        A NumPy array (a copy on the CPU, detached from autograd).

    Raises:
        TypeError: ``images`` is not a tensor.
        ValueError: ``images`` is not 3-D or 4-D.

    Example:
        >>> to_displayable(torch.zeros(3, 28, 28)).shape
        (28, 28, 3)
    """
    _check_images(images, ndims=(3, 4), name="images", floating=False)
    channels_last = images.detach().cpu().movedim(-3, -1)
    if channels_last.shape[-1] == 1:
        channels_last = channels_last.squeeze(-1)
    return channels_last.numpy().copy()


def _check_images(
    images: object, *, ndims: tuple[int, ...], name: str, floating: bool = True
) -> None:
    if not isinstance(images, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    layout = " or ".join({3: "(C, H, W)", 4: "(N, C, H, W)"}[d] for d in ndims)
    if images.ndim not in ndims:
        raise ValueError(
            f"{name} must have shape {layout}, got shape {tuple(images.shape)}"
        )
    if floating and not images.is_floating_point():
        raise TypeError(
            f"{name} must be floating point (use ToDtype(torch.float32, scale=True)), "
            f"got dtype {images.dtype}"
        )


def _per_channel(values: Sequence[float] | Tensor, channels: int, name: str) -> Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float64).flatten()
    if tensor.numel() != channels:
        raise ValueError(
            f"{name} must have one value per channel ({channels}), got "
            f"{tensor.numel()}: {tensor.tolist()}"
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} must be finite, got {tensor.tolist()}")
    if name == "std" and not bool((tensor > 0).all()):
        raise ValueError(f"std must be positive, got {tensor.tolist()}")
    return tensor
