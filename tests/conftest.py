"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_cpu_thread():
    """The unit tests use tiny models: one CPU thread is fastest, and on a busy
    2-core machine several threads mostly wait for each other. Put back afterwards."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
