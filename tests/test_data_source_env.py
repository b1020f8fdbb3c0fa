"""Which images the kernels read: the caller's choice for ``make site`` and
``make execute``, the stand-in for the test command (issue 23).

The kernels started here read a tiny folder of real-looking images made by the
test (folder-per-class PNGs in ``rps/`` and ``rps-test-set/``), never the data
set itself: the tests stay offline.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from lrlib.data._download import CLASSES
from lrlib.data.rps import DATA_DIR_ENV, DATA_SOURCE_ENV
from tools import notebooks, site
from tools.bookconfig import ROOT

PROBE_SOURCE = """\
import os
from lrlib.data.rps import get_rps

folders = get_rps()
print(folders.describe())
print("kernel source:", os.environ["LRBOOK_DATA_SOURCE"])
print("kernel data dir:", os.environ.get("LRBOOK_DATA_DIR", ""))
"""


def make_image_folder(root: Path, per_class: int = 2) -> Path:
    """A minimal real-data layout: rps/ and rps-test-set/, one folder per class."""
    rng = np.random.default_rng(23)
    for split in ("rps", "rps-test-set"):
        for name in CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, size=(28, 28, 4), dtype=np.uint8)
                pixels[..., 3] = 255
                Image.fromarray(pixels, "RGBA").save(folder / f"{name}{i:02d}.png")
    return root


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def printed(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


# --------------------------------------------------------------------------
# tools.notebooks: the environment of every run
# --------------------------------------------------------------------------


def test_the_test_command_forces_the_stand_in_whatever_the_caller_set():
    env = {DATA_SOURCE_ENV: "real", DATA_DIR_ENV: "/data/rps"}
    notebooks.apply_regression_env(env)
    assert env[DATA_SOURCE_ENV] == "synthetic"
    assert env[DATA_DIR_ENV] == "/data/rps"  # where the stand-in is drawn


@pytest.mark.parametrize("chosen", ["real", "auto", "synthetic"])
def test_executing_tools_keep_the_callers_source(chosen):
    env = {DATA_SOURCE_ENV: f" {chosen.upper()} ", DATA_DIR_ENV: "/data/rps"}
    notebooks.apply_regression_env(env, caller_data=True)
    assert env[DATA_SOURCE_ENV] == chosen
    assert env[DATA_DIR_ENV] == "/data/rps"


def test_without_a_choice_executing_tools_use_the_stand_in():
    env = {DATA_SOURCE_ENV: "  "}
    notebooks.apply_regression_env(env, caller_data=True)
    assert env[DATA_SOURCE_ENV] == "synthetic"
    assert DATA_DIR_ENV not in env


def test_an_invalid_source_is_refused_with_the_variable_named():
    with pytest.raises(
        ValueError, match="LRBOOK_DATA_SOURCE must be one of .*'photos'"
    ):
        notebooks.apply_regression_env({DATA_SOURCE_ENV: "photos"}, caller_data=True)
    env = {DATA_SOURCE_ENV: "photos"}
    notebooks.apply_regression_env(env)  # the test command does not even look
    assert env[DATA_SOURCE_ENV] == "synthetic"


@pytest.fixture
def invalid_source(monkeypatch):
    monkeypatch.setenv(DATA_SOURCE_ENV, "photos")


@pytest.mark.parametrize("command", [site.main, lambda a: notebooks.main(["execute"])])
def test_the_commands_stop_before_running_anything_on_an_invalid_source(
    invalid_source, monkeypatch, capsys, command
):
    monkeypatch.setattr(
        notebooks, "execute_many", lambda *a, **k: pytest.fail("ran notebooks")
    )
    monkeypatch.setattr(site, "build", lambda **k: pytest.fail("built the site"))
    with pytest.raises(SystemExit) as stopped:
        command([])
    assert stopped.value.code == 2
    assert "LRBOOK_DATA_SOURCE must be one of" in capsys.readouterr().err


def test_make_sites_kernels_read_the_real_images_when_asked(tmp_path, monkeypatch):
    """tools.site stages the book and executes it: the kernel sees source=real."""
    data = make_image_folder(tmp_path / "data")
    fake_root = tmp_path / "root"
    (fake_root / "book").mkdir(parents=True)
    (fake_root / "_toc.yml").write_text("format: jb-book\nroot: book/probe\n")
    probe = write_notebook(fake_root / "book" / "probe.ipynb", PROBE_SOURCE)
    monkeypatch.setattr(site, "ROOT", fake_root)
    monkeypatch.setattr(site, "TOC", fake_root / "_toc.yml")
    monkeypatch.setattr(site, "STAGING", tmp_path / "staging")
    monkeypatch.setattr(site, "chapter_notebooks", lambda: [probe])
    monkeypatch.setenv(DATA_SOURCE_ENV, "real")
    monkeypatch.setenv(DATA_DIR_ENV, str(data))

    staged = site.stage_executed_book(jobs=1)

    out = printed(staged / "book" / "probe.ipynb")
    assert "Using the real Rock-Paper-Scissors images" in out
    assert "kernel source: real" in out
    assert f"kernel data dir: {data}" in out
    assert printed(probe) == ""  # the sources are not touched
    assert os.environ[DATA_SOURCE_ENV] == "real"  # the caller's environment is back


def test_the_test_command_overrides_an_exported_real_source(monkeypatch):
    """conftest.py's hook, which every test session runs before any notebook."""
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    monkeypatch.setenv(DATA_SOURCE_ENV, "real")
    conftest.pytest_configure(None)
    assert os.environ[DATA_SOURCE_ENV] == "synthetic"
