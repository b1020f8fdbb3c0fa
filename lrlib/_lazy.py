"""Lazy names for a package's flat namespace (``lrlib`` and ``lrlib.book``).

``from lrlib import Trainer`` should not import torchvision, matplotlib or the
distributed code a chapter never uses: a package lists where each of its names
lives, and a module-level ``__getattr__`` (PEP 562) imports the module the
first time the name is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package with lazy names.

    Args:
        package: the package's name, for the error message.
        exports: public name -> the module that defines it.
        namespace: the package's ``globals()``; a name, once imported, is
            stored there so that later lookups skip ``__getattr__``.

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level.

    Example:
        >>> getattr_, dir_ = lazy_exports("pkg", {"sqrt": "math"}, {})
        >>> getattr_("sqrt")(9.0)
        3.0
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
