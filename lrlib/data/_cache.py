"""The decoded-image cache behind :func:`lrlib.data.pipeline.load_rps_data` (private).

Decoding 2,892 PNGs takes several seconds, and every chapter after the first
needs the same tensors, so the decoded (not yet standardized) tensors are kept
in a cache file beside the data. Its name is a fingerprint of every image file
(path, size, modification time), the image size and the torch and torchvision
versions: change any of them and the images are decoded afresh.

The file also records the SHA-256 of its tensors (:func:`lrlib._digest.state_sha256`),
checked at every read: ``torch.load`` verifies nothing, and a damaged cache
would otherwise train every later chapter on other pixels. A cache that does
not match its checksum, or cannot be read, is ignored with a warning that
names it, and the images are decoded (and the cache written) again. A cache
that cannot be written is skipped: it is an optimization, not a requirement.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import torch
import torchvision
from torchvision.datasets import ImageFolder

from lrlib._digest import state_sha256
from lrlib.data.preload import Preloaded

__all__ = ["CACHE_FOLDER", "CACHE_FORMAT", "cache_path", "read_cache", "write_cache"]

CACHE_FORMAT = 2
"""Bumped whenever the cache file's layout changes (2: with a SHA-256)."""
CACHE_FOLDER = ".lrlib-cache"
"""Folder, beside the two split folders, that holds decoded tensors."""

_SPLITS = ("train", "val")


def cache_path(train_images: ImageFolder, val_images: ImageFolder, size: int) -> Path:
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


def read_cache(path: Path, classes: list[str]) -> tuple[Preloaded, Preloaded] | None:
    """The cached training and validation splits, or ``None`` to decode afresh.

    ``None`` without a word when there is no cache yet (or one of another
    format or other classes); ``None`` with a :class:`RuntimeWarning` when
    the file is there but cannot be read or does not match its SHA-256.
    """
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, weights_only=True)
        if saved["format"] != CACHE_FORMAT or saved["classes"] != classes:
            return None
        tensors = {key: saved[key] for key in _tensor_keys()}
        damaged = state_sha256(tensors) != saved["sha256"]
    except Exception as exc:  # noqa: BLE001 - truncated or foreign: decode instead
        _warn(path, f"it cannot be read ({type(exc).__name__}: {exc})")
        return None
    if damaged:
        _warn(path, "its tensors do not match the SHA-256 recorded when it was written")
        return None
    return tuple(  # type: ignore[return-value]
        Preloaded.from_tensors(
            tensors[f"{split}_images"], tensors[f"{split}_targets"], classes=classes
        )
        for split in _SPLITS
    )


def write_cache(
    path: Path, train: Preloaded, val: Preloaded, classes: list[str]
) -> None:
    """Write both splits to ``path`` with their SHA-256, atomically; skip on OSError."""
    tensors = {
        "train_images": train.images,
        "train_targets": train.targets,
        "val_images": val.images,
        "val_targets": val.targets,
    }
    saved = {
        "format": CACHE_FORMAT,
        "classes": list(classes),
        **tensors,
        "sha256": state_sha256(tensors),
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


def _tensor_keys() -> list[str]:
    return [f"{split}_{part}" for split in _SPLITS for part in ("images", "targets")]


def _warn(path: Path, problem: str) -> None:
    warnings.warn(
        f"the decoded-image cache {path} is damaged: {problem}. The images are "
        "decoded again and the cache is rewritten.",
        RuntimeWarning,
        stacklevel=3,
    )
