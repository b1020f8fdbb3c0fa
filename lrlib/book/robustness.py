"""Shifting every seed of the book, for the robustness benchmark.

``make robustness`` (``benchmarks/robustness.py``) re-runs every chapter with
other training seeds, so that a claim is tested on runs other than the one the
page shows. The teaching code knows nothing of it: :func:`lrlib.seed_everything`
uses the seed it is given. This module changes that from the outside, in one
process at a time: :func:`install_seed_shift` replaces
:func:`lrlib.seeding.seed_everything` (and :func:`lrlib.distributed.sampler_seed`,
which seeds the samplers of chapter 9's data-parallel runs) with a wrapper that
adds the shift to the seed, everywhere lrlib's namespaces hold it.

The benchmark's notebooks run in kernels, and chapter 9's kernel starts
``torchrun`` workers, each a fresh Python process. :func:`write_startup_hook`
writes a ``sitecustomize.py`` into a folder; with that folder first on
``PYTHONPATH``, every Python process started in that environment runs it at
start-up and installs the shift that ``LRBOOK_SEED_SHIFT`` asks for, before any
notebook code runs. Without the variable the hook does nothing.

Installing costs nothing up front: the two modules are wrapped when they are
first imported (or at once, when they already are).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "SEED_SHIFT_ENV",
    "install_seed_shift",
    "install_seed_shift_from_env",
    "seed_shift_from_env",
    "write_startup_hook",
]

SEED_SHIFT_ENV = "LRBOOK_SEED_SHIFT"
"""When set to an integer k, :func:`install_seed_shift_from_env` shifts every
seed of the book by k (the robustness benchmark's k = 1, 2, ...)."""

_SEEDED = {
    "lrlib.seeding": ("seed_everything", 2**32),
    "lrlib.distributed": ("sampler_seed", 2**31),
}
"""Module -> (function taking the seed first, the modulus its seeds live in)."""

_WRAPPED = "__lrbook_seed_shift__"


def seed_shift_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The shift ``LRBOOK_SEED_SHIFT`` asks for (0 when unset or empty).

    Raises:
        ValueError: the variable is not a non-negative integer.

    Example:
        >>> seed_shift_from_env({"LRBOOK_SEED_SHIFT": "3"})
        3
        >>> seed_shift_from_env({})
        0
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(SEED_SHIFT_ENV, "").strip()
    if not raw:
        return 0
    try:
        shift = int(raw)
    except ValueError:
        shift = -1
    if shift < 0:
        raise ValueError(f"{SEED_SHIFT_ENV} must be a non-negative int, got {raw!r}")
    return shift


def install_seed_shift(shift: int) -> None:
    """Make every seed of the book ``shift`` larger, in this process.

    :func:`lrlib.seeding.seed_everything` and
    :func:`lrlib.distributed.sampler_seed` are replaced by wrappers that call
    the original with ``(seed + shift)`` (modulo the range of their seeds), in
    their modules and wherever lrlib already holds them (``lrlib.seed_everything``,
    modules that imported them). A module not imported yet is wrapped when it
    is. Installing again replaces the previous shift; ``shift=0`` puts the
    originals back.

    Args:
        shift: a non-negative int.

    Raises:
        ValueError: ``shift`` is not a non-negative int.

    Example:
        >>> import torch
        >>> from lrlib import seeding
        >>> install_seed_shift(3)
        >>> _ = seeding.seed_everything(42)
        >>> shifted = torch.rand(1)
        >>> install_seed_shift(0)
        >>> _ = seeding.seed_everything(45)
        >>> torch.equal(shifted, torch.rand(1))
        True
    """
    if isinstance(shift, bool) or not isinstance(shift, int) or shift < 0:
        raise ValueError(f"shift must be a non-negative int, got {shift!r}")
    for finder in [f for f in sys.meta_path if isinstance(f, _WrapOnImport)]:
        sys.meta_path.remove(finder)
    waiting = [name for name in _SEEDED if name not in sys.modules]
    for name in _SEEDED:
        if name in sys.modules:
            _wrap(sys.modules[name], shift)
    if shift and waiting:
        sys.meta_path.insert(0, _WrapOnImport(waiting, shift))


def install_seed_shift_from_env() -> int:
    """:func:`install_seed_shift` with the shift ``LRBOOK_SEED_SHIFT`` asks for.

    Returns:
        The shift installed (0: nothing was changed).
    """
    shift = seed_shift_from_env()
    if shift:
        install_seed_shift(shift)
    return shift


STARTUP_CODE = """\
# Written by lrlib.book.robustness.write_startup_hook: every Python process
# started with this folder on PYTHONPATH shifts the book's seeds by
# LRBOOK_SEED_SHIFT (nothing happens without that variable).
import os

if os.environ.get("LRBOOK_SEED_SHIFT", "").strip():
    from lrlib.book.robustness import install_seed_shift_from_env

    install_seed_shift_from_env()
"""


def write_startup_hook(folder: str | os.PathLike[str]) -> Path:
    """Write the ``sitecustomize.py`` that installs the seed shift at start-up.

    Put ``folder`` first on ``PYTHONPATH`` of the processes to shift (a
    notebook kernel, and the processes it starts) and set
    ``LRBOOK_SEED_SHIFT``.

    Args:
        folder: where to write it; created when missing.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(STARTUP_CODE, encoding="utf-8")
    return folder


def _wrap(module: ModuleType, shift: int) -> None:
    """Install the shift on ``module``'s seeded function, and every lrlib alias."""
    name, modulus = _SEEDED[module.__name__]
    current = getattr(module, name)
    original = getattr(current, _WRAPPED, current)
    replacement = original if shift == 0 else _shifted(original, shift, modulus)
    for loaded in list(sys.modules.values()):
        if loaded is None or not (loaded.__name__ or "").startswith("lrlib"):
            continue
        for attribute, value in list(vars(loaded).items()):
            if value is current or value is original:
                setattr(loaded, attribute, replacement)


def _shifted(original: Callable[..., Any], shift: int, modulus: int) -> Callable:
    @functools.wraps(original)
    def shifted(seed: Any, *args: Any, **kwargs: Any) -> Any:
        # A seed the original would refuse reaches it unchanged, and so does
        # its error message.
        if isinstance(seed, Integral) and not isinstance(seed, bool):
            if 0 <= seed < modulus:
                seed = (int(seed) + shift) % modulus
        return original(seed, *args, **kwargs)

    setattr(shifted, _WRAPPED, original)
    return shifted


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """Wraps the seeded modules right after they are first executed."""

    def __init__(self, names: Sequence[str], shift: int) -> None:
        self.names, self.shift = set(names), shift

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _WrappingLoader(spec.loader, self.shift)
                return spec
        return None


class _WrappingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, shift: int) -> None:
        self.loader, self.shift = loader, shift

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        _wrap(module, self.shift)
