"""Shared test configuration.

* Notebook regression tests (nbval) run with the same environment variables
  as ``make execute`` used when the outputs were committed.
* The notebooks' kernels (``--nbval-kernel-name lrbook``, ``make test``) are
  forked from one zygote per worker that has imported torch and the rest
  (``tools/warm_kernel.py``): a kernel asked for with another environment or
  in another folder starts cold, as before.
* ``--dist loadfile`` (``make test``) deals the test files to the xdist
  workers longest first (``tests/_scheduling.py``).
* When ``LRLIB_REQUIRE_CUDA`` is set (the GPU workflow), the session fails
  unless CUDA memory was actually allocated: a GPU job that silently ran on the
  CPU is a failure, not a pass.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest

from tools import warm_kernel
from tools.bookconfig import ROOT
from tools.notebooks import apply_regression_env

_zygote = ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    apply_regression_env()
    # nbval finds the kernel spec `lrbook` (tools/warm_kernel.py) here.
    specs = str(warm_kernel.kernel_spec_dir().parent)
    paths = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    if specs not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [specs, *paths] if p)


def pytest_sessionstart(session: pytest.Session) -> None:
    # Every process that runs tests: the xdist workers, or pytest alone; not
    # xdist's controller, which runs none.
    config = session.config
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("dsession"):
        _zygote.enter_context(warm_kernel.warm_kernels(ROOT / "book"))


def pytest_unconfigure(config: pytest.Config) -> None:
    _zygote.close()


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
