"""A SHA-256 of a saved state, to catch files damaged on disk (private).

``torch.load`` checks no checksum: one flipped bit inside a tensor's bytes
loads without a word and gives other numbers. A checkpoint
(:mod:`lrlib.checkpoint`, :mod:`lrlib.distributed`) and the decoded-image
cache (:mod:`lrlib.data._cache`) therefore record :func:`state_sha256` of what
they hold when they are written, and compare it when they are read.

The digest is computed from the values, not from the file's bytes: every
tensor's dtype, shape and raw bytes, and every plain value, in the order of
the containers that hold them. What ``torch.load(..., weights_only=True)``
gives back digests to the same value as what was saved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["state_sha256"]

_PLAIN = (complex, str, bytes, type(None), torch.dtype, torch.device)


def state_sha256(state: Any) -> str:
    """The SHA-256 of a (nested) state, as 64 hexadecimal digits.

    Args:
        state: a tensor, a plain value (number, string, ``None``, dtype,
            device), or dicts, lists and tuples of them: what
            ``torch.load(..., weights_only=True)`` can read back.

    Returns:
        The digest, in hexadecimal.

    Raises:
        TypeError: ``state`` holds another kind of object, whose bytes would
            not survive a save and a load unchanged.

    Example:
        >>> a = state_sha256({"w": torch.zeros(2), "epoch": 3})
        >>> a == state_sha256({"w": torch.zeros(2), "epoch": 3})
        True
        >>> a == state_sha256({"w": torch.tensor([0.0, 1e-45]), "epoch": 3})
        False
    """
    digest = hashlib.sha256()
    _feed(digest, state, "state")
    return digest.hexdigest()


def _feed(digest: Any, value: Any, where: str) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor {tensor.dtype} {tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, Mapping):
        digest.update(f"dict {len(value)}|".encode())
        for key, item in value.items():
            _feed(digest, key, where)
            _feed(digest, item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        digest.update(f"{kind} {len(value)}|".encode())
        for index, item in enumerate(value):
            _feed(digest, item, f"{where}[{index}]")
    elif isinstance(value, bool):
        digest.update(f"bool {value}|".encode())
    elif isinstance(value, int):
        digest.update(f"int {int(value)}|".encode())
    elif isinstance(value, float):
        digest.update(f"float {float(value).hex()}|".encode())
    elif isinstance(value, _PLAIN):
        digest.update(f"{type(value).__name__} {value!r}|".encode())
    else:
        raise TypeError(
            f"{where} is a {type(value).__name__}, which a checksum cannot cover: a "
            "saved state may hold only tensors, numbers, strings, None, dtypes, "
            "devices, and dicts, lists and tuples of them"
        )
