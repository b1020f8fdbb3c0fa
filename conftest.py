"""Shared test configuration.

* Notebook regression tests (nbval) run with the same environment variables
  as ``make execute`` used when the outputs were committed.
* ``--dist loadfile`` (``make test``) deals the test files to the xdist
  workers longest first (``tests/_scheduling.py``).
* When ``LRLIB_REQUIRE_CUDA`` is set (the GPU workflow), the session fails
  unless CUDA memory was actually allocated: a GPU job that silently ran on the
  CPU is a failure, not a pass.
"""

from __future__ import annotations

import os

import pytest

from tools.notebooks import apply_regression_env


def pytest_configure(config: pytest.Config) -> None:
    apply_regression_env()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from tests._scheduling import LongestFirstScheduling

    return LongestFirstScheduling(config, log)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("LRLIB_REQUIRE_CUDA", "").strip().lower() not in {
        "1",
        "true",
        "yes",
        "on",
    }:
        return
    import torch

    used = torch.cuda.is_available() and torch.cuda.max_memory_allocated() > 0
    if not used:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "LRLIB_REQUIRE_CUDA is set but no CUDA memory was allocated: the GPU "
                "path was not exercised",
                red=True,
            )
