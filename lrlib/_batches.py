"""What a training step expects of its batches, loaders, model and loss,
checked in one place.

:class:`lrlib.training.Trainer`, the evaluation helpers next to it, and
:func:`lrlib.range_test` all unpack batches the same way, with
:func:`split_batch`. A batch is one of:

* a tuple or list ``(inputs, targets, ...)``, as a ``DataLoader`` over a
  ``TensorDataset(inputs, targets)`` yields; entries after the second (sample
  weights, indices, ...) are ignored;
* a mapping (e.g. a dict, as a ``DataLoader`` over a dataset of dicts yields)
  holding exactly one of the key pairs in :data:`BATCH_KEYS`, such as
  ``{"inputs": ..., "targets": ...}``; other keys are ignored.

Inputs and targets must be tensors. The other checks guard against mistakes
that would otherwise fail obscurely or, worse, train on something wrong: a
one-shot iterator where a re-iterable loader is needed
(:func:`is_one_shot`), a model whose parameters hold no data
(:func:`check_materialized`), and outputs and targets whose shapes broadcast
into a larger loss than intended (:func:`check_loss_shapes`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

__all__ = [
    "BATCH_KEYS",
    "batch_inputs",
    "check_loss_shapes",
    "check_materialized",
    "is_one_shot",
    "split_batch",
]

BATCH_KEYS: tuple[tuple[str, str], ...] = (
    ("inputs", "targets"),
    ("input", "target"),
    ("x", "y"),
    ("image", "label"),
)
"""The ``(inputs key, targets key)`` pairs a mapping batch may use;
it must hold exactly one.
"""

_PAIRS = ", ".join(f"({a!r}, {b!r})" for a, b in BATCH_KEYS)


def split_batch(
    batch: Any, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the inputs and targets of a batch, moved to ``device``.

    Args:
        batch: ``(inputs, targets, ...)`` as a tuple or list, or a mapping with
            one of the key pairs of :data:`BATCH_KEYS` (see the module docstring).
        device: where the tensors go (``non_blocking``: overlaps the copy with
            computation when the batch is in pinned memory).

    Returns:
        ``(inputs, targets)`` on ``device``.

    Raises:
        TypeError: the batch is neither a sequence of at least two entries nor
            a mapping with exactly one known key pair, or its inputs or targets
            are not tensors.

    Example:
        >>> x, y = torch.zeros(4, 3), torch.tensor([0, 1, 1, 0])
        >>> [t.shape for t in split_batch((x, y, torch.arange(4)), "cpu")]
        [torch.Size([4, 3]), torch.Size([4])]
        >>> inputs, targets = split_batch({"x": x, "y": y, "id": "batch-0"}, "cpu")
        >>> targets.tolist()
        [0, 1, 1, 0]
    """
    if isinstance(batch, Mapping):
        inputs_key, targets_key = _mapping_keys(batch, need_targets=True)
        inputs, targets = batch[inputs_key], batch[targets_key]
        names = (f"batch[{inputs_key!r}]", f"batch[{targets_key!r}]")
    elif isinstance(batch, (tuple, list)) and len(batch) >= 2:
        inputs, targets = batch[0], batch[1]
        names = ("batch[0] (the inputs)", "batch[1] (the targets)")
    else:
        raise TypeError(
            f"a batch must be a mapping with one of the key pairs {_PAIRS} or an "
            f"(inputs, targets, ...) tuple or list, got {_describe(batch)}. (A "
            "DataLoader over TensorDataset(inputs, targets), for example, yields the "
            "pair (inputs, targets).)"
        )
    return _to(inputs, names[0], device), _to(targets, names[1], device)


def batch_inputs(batch: Any, device: torch.device | str) -> torch.Tensor:
    """Return the inputs of a batch that may lack targets, moved to ``device``.

    For prediction: besides what :func:`split_batch` accepts, a batch may be a
    bare input tensor, a one-entry tuple or list ``(inputs,)`` (what a
    ``DataLoader`` over ``TensorDataset(inputs)`` yields), or a mapping with
    only the inputs key of a pair in :data:`BATCH_KEYS`.

    Args:
        batch: the batch.
        device: where the inputs go.

    Returns:
        The inputs on ``device``.

    Raises:
        TypeError: no inputs can be found, or they are not a tensor.

    Example:
        >>> batch_inputs([torch.ones(2, 3)], "cpu").shape
        torch.Size([2, 3])
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        inputs_key, _ = _mapping_keys(batch, need_targets=False)
        return _to(batch[inputs_key], f"batch[{inputs_key!r}]", device)
    if isinstance(batch, (tuple, list)) and len(batch) >= 1:
        return _to(batch[0], "batch[0] (the inputs)", device)
    raise TypeError(
        "a batch to predict on must be an input tensor, an (inputs, ...) tuple or "
        f"list, or a mapping with one of the input keys {[a for a, _ in BATCH_KEYS]}; "
        f"got {_describe(batch)}"
    )


def is_one_shot(loader: object) -> bool:
    """Whether ``loader`` is an iterator, which yields its batches only once.

    A generator, ``iter(data_loader)`` or ``map(...)`` is used up after one
    pass: iterating it again yields nothing. A ``DataLoader``, a list or any
    other re-iterable object starts afresh each time. Nothing is iterated to
    find out.

    Args:
        loader: the object that is to yield batches.

    Returns:
        ``True`` for an iterator.

    Example:
        >>> batches = [(torch.zeros(2, 1), torch.zeros(2))]
        >>> (is_one_shot(batches), is_one_shot(iter(batches)),
        ...  is_one_shot(b for b in batches))
        (False, True, True)
    """
    return isinstance(loader, Iterator)


def check_materialized(model: nn.Module) -> None:
    """Refuse a model whose parameters or buffers are on the ``meta`` device.

    A tensor on the meta device has a shape and a dtype but no values (models
    built under ``torch.device("meta")`` to save memory start that way).
    Training it computes nothing real, and the first number read from it fails
    deep inside PyTorch.

    Args:
        model: the model.

    Raises:
        ValueError: some parameter or buffer is on the meta device; the message
            names the first few.

    Example:
        >>> with torch.device("meta"):
        ...     model = nn.Linear(2, 1)
        >>> check_materialized(model.to_empty(device="cpu"))  # allocated: fine
    """
    tensors = itertools.chain(model.named_parameters(), model.named_buffers())
    on_meta = [name for name, tensor in tensors if tensor.is_meta]
    if on_meta:
        shown = ", ".join(on_meta[:3])
        if len(on_meta) > 3:
            shown += f" and {len(on_meta) - 3} more"
        raise ValueError(
            f"the model {type(model).__name__} has parameters or buffers on the meta "
            f"device ({shown}): they have shapes but no values, so there is nothing to "
            "train or evaluate. Materialize the model first: "
            "model.to_empty(device=...) and then initialize or load its weights (e.g. "
            "model.load_state_dict(...)), or build it outside a torch.device('meta') "
            "block."
        )


def check_loss_shapes(outputs: Any, targets: Any) -> None:
    """Refuse outputs and targets that broadcast to a shape other than the outputs'.

    An elementwise loss such as ``nn.MSELoss`` compares outputs and targets
    after broadcasting them. Outputs of shape ``(N, 1)`` and targets of shape
    ``(N,)`` broadcast to ``(N, N)``: every output is compared with every
    target, and the model trains on a meaningless loss without any error.
    Shapes that broadcast to the outputs' own shape are accepted (equal shapes;
    class ids ``(N,)`` next to logits ``(N, C)``, which do not broadcast unless
    ``N == C``, and then to ``(N, C)``), as are shapes that do not broadcast at
    all (the loss function judges those) and non-tensor outputs.

    Args:
        outputs: what the model returned.
        targets: the targets of the batch.

    Raises:
        ValueError: the shapes broadcast to a shape other than the outputs';
            the message names both shapes and the broadcast one.

    Example:
        >>> check_loss_shapes(torch.zeros(8, 1), torch.zeros(8, 1))  # fine
        >>> check_loss_shapes(torch.zeros(8, 1), torch.zeros(8))
        Traceback (most recent call last):
        ...
        ValueError: model outputs of shape (8, 1) and targets of shape (8,)
        broadcast to (8, 8): ...
    """
    if not (isinstance(outputs, torch.Tensor) and isinstance(targets, torch.Tensor)):
        return
    try:
        joint = torch.broadcast_shapes(outputs.shape, targets.shape)
    except RuntimeError:
        return  # not elementwise: the loss function checks these shapes itself
    if joint != outputs.shape:
        out, tgt = tuple(outputs.shape), tuple(targets.shape)
        raise ValueError(
            f"model outputs of shape {out} and targets of shape {tgt} broadcast to "
            f"{tuple(joint)}: an elementwise loss would compare every output with "
            "every target instead of each output with its own. Make the shapes equal, "
            "e.g. outputs.squeeze(-1) in the model or targets.unsqueeze(-1) in the "
            "dataset."
        )


def _mapping_keys(batch: Mapping, *, need_targets: bool) -> tuple[str, str]:
    present = [
        (a, b) for a, b in BATCH_KEYS if a in batch and (b in batch or not need_targets)
    ]
    if len(present) == 1:
        return present[0]
    keys = sorted(map(str, batch))
    if not present:
        raise TypeError(
            "a mapping batch must hold one of the key pairs "
            f"{[pair if need_targets else pair[0] for pair in BATCH_KEYS]} for its "
            f"{'inputs and targets' if need_targets else 'inputs'}; its keys are "
            f"{keys}. Rename the keys in the dataset (or its collate_fn), or yield "
            "(inputs, targets) tuples."
        )
    raise TypeError(
        f"a mapping batch must hold exactly one of the key pairs {list(BATCH_KEYS)}, "
        f"but it holds {present} (keys {keys}): which are the inputs is ambiguous"
    )


def _to(value: Any, name: str, device: torch.device | str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {_describe(value)}")
    return value.to(device, non_blocking=True)


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        entries = "entry" if len(value) == 1 else "entries"
        return f"a {type(value).__name__} of {len(value)} {entries}"
    return type(value).__name__
