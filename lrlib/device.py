"""Choosing the device a notebook or test runs on.

The book runs anywhere: on a laptop CPU, an Apple GPU, or an NVIDIA GPU. Every
notebook asks :func:`get_device` instead of hard-coding ``"cuda"``, so that one
environment variable can move the whole book (tests included) to another device.
"""

from __future__ import annotations

import itertools
import os

import torch
from torch import nn

__all__ = [
    "get_device",
]

DEVICE_ENV = "LRLIB_DEVICE"
"""Environment variable that overrides the automatic choice
(``cpu``, ``cuda``, ``cuda:1``, ``mps``).
"""

REQUIRE_CUDA_ENV = "LRLIB_REQUIRE_CUDA"
"""Environment variable that, when truthy, turns a missing CUDA device into an error."""

_TRUTHY = {"1", "true", "yes", "on"}
_FALSY = {"", "0", "false", "no", "off"}


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUTHY:
        return True
    if raw in _FALSY:
        return False
    raise ValueError(
        f"{name} must be one of {sorted(_TRUTHY | _FALSY - {''})} "
        f"(or unset), got {raw!r}"
    )


def mps_available() -> bool:
    """Whether this PyTorch can use an Apple GPU (``torch.backends.mps``)."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to run on.

    Shown in chapters 0, 2, 3, 4, 5, 7, 8 and 9.

    The choice, in order of precedence:

    1. ``preferred``, when given;
    2. the ``LRLIB_DEVICE`` environment variable, when set;
    3. CUDA if available, else Apple's MPS if available, else the CPU.

    When ``LRLIB_REQUIRE_CUDA`` is truthy, the result must be a CUDA device
    that exists: anything else raises instead of silently running on the CPU.
    This is how the GPU workflow proves that CUDA was really used.

    Args:
        preferred: an explicit device (``"cpu"``, ``"cuda:0"``, a
            :class:`torch.device`). Overrides the environment variable.

    Returns:
        A :class:`torch.device`.

    Raises:
        ValueError: the requested device string is not a valid device.
        RuntimeError: the requested device is not available on this machine,
            or CUDA is required and not available.

    Example:
        >>> import os
        >>> os.environ["LRLIB_DEVICE"] = "cpu"
        >>> get_device()
        device(type='cpu')
        >>> del os.environ["LRLIB_DEVICE"]
    """
    require_cuda = _flag(REQUIRE_CUDA_ENV)
    source = "argument `preferred`"
    requested = preferred
    if requested is None:
        env = os.environ.get(DEVICE_ENV, "").strip()
        if env:
            requested, source = env, f"environment variable {DEVICE_ENV}"

    if requested is None:
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif mps_available() and not require_cuda:
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
    else:
        try:
            device = torch.device(requested)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"{source} must name a torch device such as 'cpu', 'cuda' or 'mps', "
                f"got {requested!r}"
            ) from exc
        _check_available(device, source)

    if require_cuda and device.type != "cuda":
        raise RuntimeError(
            f"{REQUIRE_CUDA_ENV} is set, so a CUDA device is required, but the chosen "
            f"device is {str(device)!r} (torch.cuda.is_available() = "
            f"{torch.cuda.is_available()})"
        )
    return device


def model_device(model: nn.Module) -> torch.device:
    """Return the device holding the model's parameters and buffers.

    A model without parameters or buffers is taken to be on the CPU.

    Args:
        model: the model.

    Returns:
        The device of all its parameters and buffers.

    Raises:
        RuntimeError: the parameters are spread over several devices.

    Example:
        >>> model_device(nn.Linear(2, 1))
        device(type='cpu')
    """
    devices = {t.device for t in itertools.chain(model.parameters(), model.buffers())}
    if len(devices) > 1:
        found = sorted(str(d) for d in devices)
        raise RuntimeError(
            f"the model's parameters and buffers are on several devices {found}; "
            "move the whole model to one device with model.to(device)"
        )
    return devices.pop() if devices else torch.device("cpu")


def _check_available(device: torch.device, source: str) -> None:
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"{source} asks for {str(device)!r}, but CUDA is not available"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise RuntimeError(
                f"{source} asks for {str(device)!r}, "
                f"but only {count} CUDA device(s) exist"
            )
    elif device.type == "mps" and not mps_available():
        raise RuntimeError(f"{source} asks for 'mps', but MPS is not available")
