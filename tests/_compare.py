"""Exact comparisons of training runs, relaxed only where the hardware demands it."""

from __future__ import annotations

import torch
from torch import nn

from lrlib.device import get_device


def assert_same_history(a: dict[str, list], b: dict[str, list]) -> None:
    """Bit for bit on the CPU; within 1e-7 on an accelerator, whose kernels may round
    differently from one run to the next."""
    if get_device().type == "cpu":
        assert a == b
        return
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(
            torch.tensor(a[key], dtype=torch.float64),
            torch.tensor(b[key], dtype=torch.float64),
            rtol=0,
            atol=1e-7,
        )


def assert_same_parameters(a: nn.Module, b: nn.Module) -> None:
    exact = get_device().type == "cpu"
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0 if exact else 1e-7)
