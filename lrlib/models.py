"""The book's convolutional network for 28x28 Rock-Paper-Scissors images.

Two blocks of ``conv 3x3 -> ReLU -> max-pool 2`` turn a 3@28x28 image into
``n`` feature maps of 5x5; a small classifier with dropout turns those
``n * 5 * 5`` features into 3 logits::

    3@28x28 --conv1--> n@26x26 --pool1--> n@13x13 --conv2--> n@11x11 --pool2--> n@5x5
            --flatten--> n*25 --dropout, fc1--> 50 --ReLU, dropout, fc2--> 3 logits

Every step is an ``nn`` module with a name (``model.featurizer.conv1``,
``model.classifier.fc1``, ...), not a call to ``torch.nn.functional``: named
modules can be printed, indexed, inspected (``model.featurizer.conv1.weight``
holds the filters the book visualizes) and hooked with
``register_forward_hook``, none of which is possible for a function call
buried inside ``forward``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from lrlib._validation import check_int, check_number

__all__ = [
    "TwoBlockCNN",
    "count_parameters",
]


class TwoBlockCNN(nn.Sequential):
    """Two convolutional blocks and a two-layer classifier with dropout.

    Shown in chapters 2, 3, 7, 8 and 9.

    The model is an :class:`~torch.nn.Sequential` of two named parts:

    * ``featurizer``: ``conv1`` (3x3, ``in_channels -> n_filters``), ``relu1``,
      ``pool1`` (2x2), ``conv2`` (3x3, ``n_filters -> n_filters``), ``relu2``,
      ``pool2`` (2x2), ``flatten``;
    * ``classifier``: ``dropout1``, ``fc1`` (``n_filters * 5 * 5 -> hidden``),
      ``relu``, ``dropout2``, ``fc2`` (``hidden -> n_classes``).

    Dropout sits before each linear layer, with the same probability ``p``.
    With ``p = 0`` the dropout layers are still there (and do nothing), so models
    with and without dropout have the same structure and the same parameters.
    The output is raw logits, meant for :class:`~torch.nn.CrossEntropyLoss`.

    Convolutions use no padding and pools use stride 2 (rounding down), so
    each block maps a side of ``s`` pixels to ``(s - 2) // 2``: 28 -> 13 -> 5.
    The linear layer is sized for ``image_size``; :meth:`forward` checks that
    the input has exactly that size and says so otherwise, instead of letting
    a shape mismatch surface deep inside ``fc1``.

    Args:
        n_filters: number of filters (output channels) of each convolution. Default: 5.
        p: dropout probability, in [0, 1). Default: 0.0.
        n_classes: number of output logits. Default: 3.
        hidden: units of the hidden linear layer. Default: 50.
        in_channels: channels of the input images. Default: 3 (RGB).
        image_size: side of the square input images. Default: 28.

    Attributes:
        input_shape: ``(C, H, W)`` of one input image, e.g. ``(3, 28, 28)``.
        feature_shape: ``(C, H, W)`` of the feature maps before ``flatten``,
            e.g. ``(5, 5, 5)``.

    Raises:
        TypeError: an integer argument is not an ``int``, or ``p`` is not a number.
        ValueError: an argument is out of range, or ``image_size`` is too small
            to leave at least one pixel after both blocks (the minimum is 10).

    Example:
        >>> model = TwoBlockCNN(n_filters=5, p=0.3)
        >>> model(torch.zeros(4, 3, 28, 28)).shape
        torch.Size([4, 3])
        >>> model.featurizer.conv1.weight.shape  # 5 filters of 3 channels, 3x3 each
        torch.Size([5, 3, 3, 3])
        >>> count_parameters(model)
        6823
    """

    def __init__(
        self,
        n_filters: int = 5,
        p: float = 0.0,
        *,
        n_classes: int = 3,
        hidden: int = 50,
        in_channels: int = 3,
        image_size: int = 28,
    ) -> None:
        for name, value in [
            ("n_filters", n_filters),
            ("n_classes", n_classes),
            ("hidden", hidden),
            ("in_channels", in_channels),
            ("image_size", image_size),
        ]:
            check_int(name, value, low=1)
        check_number("p", p, low=0, high=1, include_high=False)
        side = _block_output_side(_block_output_side(image_size))
        if side < 1:
            raise ValueError(
                "image_size must be at least 10 to leave one pixel after two blocks, "
                f"got {image_size}"
            )

        featurizer = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(in_channels, n_filters, kernel_size=3),
                relu1=nn.ReLU(),
                pool1=nn.MaxPool2d(kernel_size=2),
                conv2=nn.Conv2d(n_filters, n_filters, kernel_size=3),
                relu2=nn.ReLU(),
                pool2=nn.MaxPool2d(kernel_size=2),
                flatten=nn.Flatten(),
            )
        )
        classifier = nn.Sequential(
            OrderedDict(
                dropout1=nn.Dropout(p),
                fc1=nn.Linear(n_filters * side * side, hidden),
                relu=nn.ReLU(),
                dropout2=nn.Dropout(p),
                fc2=nn.Linear(hidden, n_classes),
            )
        )
        super().__init__(OrderedDict(featurizer=featurizer, classifier=classifier))
        self.input_shape = (in_channels, image_size, image_size)
        self.feature_shape = (n_filters, side, side)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(N, n_classes)`` for images ``(N, C, H, W)``.

        Raises:
            ValueError: ``images`` is not a batch of ``input_shape`` images.
        """
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            c, h, w = self.input_shape
            raise ValueError(
                f"expected a batch of images of shape (N, {c}, {h}, {w}), got shape "
                f"{tuple(images.shape)}; resize the images to {h}x{w} (e.g. "
                f"Resize(({h}, {w}))) or build the model with a matching "
                "image_size/in_channels"
            )
        return super().forward(images)


def _block_output_side(side: int) -> int:
    """Side of a square map after a 3x3 convolution (no padding) and a 2x2 max-pool."""
    return (side - 2) // 2


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Count the scalar parameters (weights and biases) of a model.

    Shown in chapters 2 and 8.

    Args:
        model: any module.
        trainable_only: count only parameters with ``requires_grad=True``
            (what an optimizer would update). Default: True.

    Returns:
        The number of scalars; a parameter shared by two layers counts once.

    Raises:
        TypeError: ``model`` is not an :class:`~torch.nn.Module`.

    Example:
        >>> count_parameters(nn.Linear(10, 3))  # 10 * 3 weights + 3 biases
        33
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(
        parameter.numel()
        for parameter in model.parameters()
        if parameter.requires_grad or not trainable_only
    )
