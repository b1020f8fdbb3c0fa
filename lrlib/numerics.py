"""Pinned CPU numerics: the same bits on the x86-64 machines the book is tested on.

A float32 training run is a long chain of sums, and the order of a sum decides
its last bits. PyTorch's CPU kernels choose that order at run time from the
processor they find: ATen's vectorized kernels by its instruction set (AVX2 or
AVX-512), oneDNN's convolutions by its instruction set too, MKL's matrix
products by the vendor and model (Intel and AMD take different code paths),
and every one of them by the number of threads that share a sum. One flipped
bit early in training grows, step by step, into a different model.

The book pins all of these through environment variables, read once when the
libraries start, so they must be set before ``import torch``:

* ``ATEN_CPU_CAPABILITY=avx2``: ATen's vectorized kernels (softmax, losses,
  element-wise arithmetic) run their 256-bit code even on an AVX-512 machine.
* ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN's convolution kernels likewise; with
  AVX-512 it picks other kernels and blockings.
* ``MKL_CBWR=COMPATIBLE``: MKL's conditional numerical reproducibility, one
  code path on Intel and AMD alike (its ``AVX2`` branch is not promised to
  match on AMD processors).
* ``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``,
  ``MKL_DYNAMIC=FALSE``: one thread, so no sum is split in a way that depends
  on the number of cores (NumPy's OpenBLAS included).
* ``NPY_DISABLE_CPU_FEATURES=X86_V4 AVX512_ICL AVX512_SPR``: NumPy's own
  AVX-512 loops (its ``sin``, ``cos`` and ``exp`` may differ in the last bit),
  which the stand-in's drawing code uses.

Every x86-64 processor the book is checked on supports AVX2 (Intel since
Haswell, 2013; AMD since Excavator, 2015); the pins say "use AVX2 and no more",
which is also what most machines run anyway.

Two things the variables cannot pin, and what the book does about them:

* float32 ``torch.sqrt`` on the CPU is not correctly rounded on every AMD
  processor, whatever MKL is told. Default (single-tensor) Adam takes the
  square root of its second moment with it. ``torch.optim.Adam(...,
  fused=True)`` computes the update in its own kernel, which, with the pins
  and the pinned PyTorch release, gave the same bits on every x86-64
  processor the tests emulate (``tests/test_numerics.py``); PyTorch itself
  promises no such thing, and CUDA's fused Adam is another kernel. The
  book's Adam runs use it.
* GPUs and Apple silicon run other kernels altogether. There the book's
  claims hold, but its printed numbers differ in their last digits, and a run
  can tip the other way where two choices are close.

Example:
    >>> import os
    >>> env = _pinned_environment({})
    >>> env["ATEN_CPU_CAPABILITY"], env["OMP_NUM_THREADS"]
    ('avx2', '1')
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = [
    "PINNED_ENV",
    "numerics_report",
    "reproducible",
    "reproducible_adam",
]

PINNED_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "COMPATIBLE",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_DYNAMIC": "FALSE",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}
"""The variables that make a CPU run bit-identical across x86-64 machines.

Listed in full on the book's page "How this book is made and tested".
"""

PINS_ENV = "LRBOOK_NUMERICS"
"""``pinned`` (the default of the book's tools) or ``native``: the robustness
benchmark runs every claim under both."""


def _pinned_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``environ`` (default: ``os.environ``) with the pins applied.

    Args:
        environ: the environment to start from.

    Returns:
        A new dictionary; ``environ`` is not changed.

    Example:
        >>> _pinned_environment({"HOME": "/home/me"})["MKL_CBWR"]
        'COMPATIBLE'
    """
    env = dict(os.environ if environ is None else environ)
    env.update(PINNED_ENV)
    return env


def _torch_kernels_started() -> bool:
    """Whether torch is imported (its kernels may then have read the variables)."""
    return "torch" in sys.modules


def reproducible(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Opt in to the page's exact numbers: pin the CPU numerics of this process.

    Shown in chapter 0.

    Call it first thing, before ``import torch``: the libraries read the
    variables when they start. Called later, it still sets them (and limits
    PyTorch to one thread), but kernels that already started keep their
    choice, so it warns.

    Args:
        environ: the environment to change; default ``os.environ``.

    Returns:
        The variables it set, name to value.

    Example:
        >>> import lrlib.numerics
        >>> env = {}
        >>> sorted(reproducible(env)) == sorted(PINNED_ENV)
        True
    """
    target = os.environ if environ is None else environ
    if environ is None and _torch_kernels_started():
        import torch

        torch.set_num_threads(1)
        warnings.warn(
            "lrlib.numerics.reproducible() was called after `import torch`: the thread "
            "count is pinned now, but the instruction-set and MKL pins take effect "
            "only in a fresh process (restart the kernel and call it before importing "
            "torch)",
            RuntimeWarning,
            stacklevel=2,
        )
    target.update(PINNED_ENV)
    return dict(PINNED_ENV)


def reproducible_adam(params: Any, **kwargs: Any) -> Any:
    """``torch.optim.Adam`` with its fused kernel, as the book's Adam runs use it.

    Shown in chapter 9.

    The default (single-tensor) implementation takes the square root of the
    second moment with ``torch.sqrt``, whose last bit differs between Intel
    and AMD processors; the fused kernel does the same arithmetic in one pass
    without it. With the pins of :data:`PINNED_ENV` it gave the same bits on
    the x86-64 processors the tests emulate; that is measured, not a promise
    of PyTorch's (and on a GPU, fused Adam is another kernel). Handy where
    an optimizer *factory* is passed around; in a chapter,
    ``torch.optim.Adam(..., fused=True)`` says the same.

    Args:
        params: parameters or parameter groups, as for ``torch.optim.Adam``.
        **kwargs: any other ``torch.optim.Adam`` argument except ``fused``.

    Returns:
        A ``torch.optim.Adam`` with ``fused=True``.

    Raises:
        TypeError: ``fused`` was given.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> reproducible_adam([w], lr=1e-3).defaults["fused"]
        True
    """
    import torch

    if "fused" in kwargs:
        raise TypeError(
            f"reproducible_adam sets fused=True itself; got fused={kwargs['fused']!r}"
        )
    return torch.optim.Adam(params, fused=True, **kwargs)


def exact_sqrt(x: Any) -> Any:
    """The correctly rounded square root of a CPU or GPU tensor, on every processor.

    ``Tensor.sqrt`` on the CPU goes through MKL's vector math, whose last bit
    differs between Intel and AMD processors. NumPy's square root is the
    processor's IEEE instruction, exact to the last bit everywhere.

    Args:
        x: a floating-point tensor (any device; no gradient is tracked).

    Returns:
        A tensor of the same dtype and device.

    Example:
        >>> import torch
        >>> exact_sqrt(torch.tensor([4.0, 2.0], dtype=torch.float64)).tolist()
        [2.0, 1.4142135623730951]
    """
    import numpy as np
    import torch

    values = x.detach().cpu().numpy()
    return torch.from_numpy(np.sqrt(values)).to(device=x.device, dtype=x.dtype)


def numerics_report(environ: Mapping[str, str] | None = None) -> str:
    """One line saying whether this process runs with the book's pins.

    Example:
        >>> print(numerics_report(PINNED_ENV))
        CPU numerics pinned (AVX2, MKL COMPATIBLE, 1 thread): the page's numbers
        reproduce bit for bit
    """
    env = os.environ if environ is None else environ
    missing = [name for name, value in PINNED_ENV.items() if env.get(name) != value]
    if not missing:
        return (
            "CPU numerics pinned (AVX2, MKL COMPATIBLE, 1 thread): "
            "the page's numbers reproduce bit for bit"
        )
    return (
        "CPU numerics not pinned ("
        + ", ".join(missing)
        + " differ): numbers can differ "
        "from the page in their last digits; "
        "call lrlib.numerics.reproducible() first to pin them"
    )
