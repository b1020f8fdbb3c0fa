"""Fixtures shared by the unit tests, and the browser tests' site and browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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


# --------------------------------------------------------------------------
# The browser tests (tests/test_site.py, tests/test_site_explorers.py): the
# site is built once per test run and one browser visits it. `make test` runs
# both files on one worker (tests/_scheduling.py); should they land on two
# workers, the second waits for the first's build and uses it.
# --------------------------------------------------------------------------


def _build_site_once() -> Path:
    """Build the site from the committed outputs once per test run; its root."""
    from lrlib.data._filelock import exclusive
    from tools import site

    output = site.COMMITTED_OUTPUT
    output.mkdir(parents=True, exist_ok=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # the same on every worker
    stamp = output / ".built-by-test-run"
    with exclusive(output.parent / ".committed-site.lock"):
        index = output / "_build" / "html" / "index.html"
        if run and index.exists() and stamp.exists() and stamp.read_text() == run:
            return index.parent
        stamp.unlink(missing_ok=True)
        index = site.build(committed=True)
        if run:
            stamp.write_text(run)
    return index.parent


@pytest.fixture(scope="session")
def html_root() -> Path:
    return _build_site_once()


@pytest.fixture(scope="session")
def server(html_root: Path) -> Iterator[str]:
    from tests.test_site import serve

    with serve(html_root) as local:
        yield local.url("")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.test_site import CHROMIUM_FLAGS, find_browser

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=find_browser(), args=CHROMIUM_FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
