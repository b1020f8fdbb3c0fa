"""Take turns on a shared folder: an exclusive lock held through a lock file.

Two notebooks that need the same data at once (two kernels, or a test runner
next to a site build) must not both download or draw it into the same place:
each would remove the other's half-written files. :func:`exclusive` makes the
second caller wait until the first is done, after which it finds the finished
data and uses it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["exclusive"]


@contextlib.contextmanager
def exclusive(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing) for the block.

    Another process, or another thread, entering the block with the same path
    waits until this one leaves it, even if this one leaves by an exception.
    The file itself stays: deleting a lock file races with a caller about to
    lock it.

    Args:
        path: the lock file; its folder must exist.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> with exclusive(folder / ".data.lock"):
        ...     pass  # check for the data, and make it if it is missing
    """
    with open(path, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(
                        handle.fileno(), msvcrt.LK_LOCK, 1
                    )  # retries for ~10 s
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
