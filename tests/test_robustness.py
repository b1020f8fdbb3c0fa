"""benchmarks/robustness.py: the kernels get the caller's environment (bug 2 of
issue 23), and the real images are a data setting read from a copy.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys

import pytest

from lrlib.book.claims import CLAIMS_LOG_ENV
from lrlib.data.rps import DATA_DIR_ENV, DATA_SOURCE_ENV, STANDIN_SEED_ENV
from tests.test_data_source_env import make_image_folder, write_notebook
from tools.bookconfig import ROOT


@pytest.fixture(scope="module")
def robustness():
    spec = importlib.util.spec_from_file_location(
        "robustness_under_test", ROOT / "benchmarks" / "robustness.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_setting_labels_name_the_data(robustness):
    assert robustness.Setting(0, 4, "pinned").label() == "shift0-standin4-pinned"
    assert robustness.Setting(3, None, "native").label() == "shift3-real-native"


def test_the_environment_starts_from_the_callers(robustness, tmp_path, monkeypatch):
    monkeypatch.setenv("LRBOOK_PROBE", "from the caller")
    monkeypatch.setenv(DATA_DIR_ENV, "/where/stand-ins/are/drawn")
    log = tmp_path / "claims.jsonl"
    standin = robustness._environment(robustness.Setting(1, 5, "pinned"), log)
    assert standin["LRBOOK_PROBE"] == "from the caller"
    assert (
        standin["PATH"] == os.environ["PATH"] and standin["HOME"] == os.environ["HOME"]
    )
    assert standin[DATA_SOURCE_ENV] == "synthetic" and standin[STANDIN_SEED_ENV] == "5"
    assert standin[DATA_DIR_ENV] == "/where/stand-ins/are/drawn"
    assert standin[CLAIMS_LOG_ENV] == str(log)

    real = robustness._environment(robustness.Setting(1, None, "native"), log, tmp_path)
    assert real[DATA_SOURCE_ENV] == "real" and real[DATA_DIR_ENV] == str(tmp_path)
    assert STANDIN_SEED_ENV not in real and "OMP_NUM_THREADS" not in real
    with pytest.raises(ValueError, match="shift1-real-pinned needs a real_dir"):
        robustness._environment(robustness.Setting(1, None, "pinned"), log)


def test_the_real_copy_leaves_a_read_only_source_alone(robustness, tmp_path):
    source = make_image_folder(tmp_path / "shared", per_class=1)
    (source / "README.md").write_text("not copied")
    files = sorted(p for p in source.rglob("*"))
    for path in [*files, source]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        out = tmp_path / "out"
        copy = robustness.real_copy(source, out)
        assert copy == (out / "real-data").resolve()
        assert sorted(p.relative_to(copy) for p in copy.rglob("*.png")) == sorted(
            p.relative_to(source) for p in files if p.suffix == ".png"
        )
        assert not (copy / "README.md").exists()
        first = copy / "rps" / "rock" / "rock00.png"
        assert (
            first.stat().st_mtime_ns
            == (source / "rps" / "rock" / "rock00.png").stat().st_mtime_ns
        )
        assert robustness.real_copy(source, out) == copy  # a second copy replaces it
        assert sorted(source.rglob("*")) == files
    finally:
        for path in [source, *source.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_the_real_copy_refuses_a_folder_without_the_splits(robustness, tmp_path):
    (tmp_path / "rps").mkdir()
    with pytest.raises(FileNotFoundError, match="class folder .*paper is missing"):
        robustness.real_copy(tmp_path, tmp_path / "out")
    with pytest.raises(SystemExit):
        robustness.main(["--real", str(tmp_path / "nowhere"), "--out", str(tmp_path)])


def test_a_robustness_kernel_sees_the_callers_environment_and_the_real_copy(
    robustness, tmp_path, monkeypatch
):
    """Bug 2 of issue 23: the kernels got an empty environment."""
    source = make_image_folder(tmp_path / "shared", per_class=1)
    for path in [source, *source.rglob("*")]:
        path.chmod(path.stat().st_mode & ~stat.S_IWUSR)
    try:
        out = tmp_path / "out"
        out.mkdir()
        copy = robustness.real_copy(source, out)
        robustness.write_startup_hook(out / robustness.STARTUP_FOLDER)  # as main does
        probe = write_notebook(
            tmp_path / "book" / "probe.ipynb",
            "import os\n"
            "from lrlib.book.claims import claim\n"
            "from lrlib.data.pipeline import load_rps_data\n"
            "import random\n"
            "from lrlib import seed_everything\n"
            "data = load_rps_data(num_workers=0)\n"
            "claim('the caller variable arrives', "
            "os.environ.get('LRBOOK_PROBE') == 'from the caller')\n"
            "claim('HOME and PATH arrive', "
            f"os.environ.get('HOME') == {os.environ['HOME']!r} "
            f"and os.environ.get('PATH') == {os.environ['PATH']!r})\n"
            "claim('the real images are read', data.folders.source == 'real', "
            "images=len(data.train) + len(data.val))\n"
            f"copy = {str(copy / 'rps')!r}\n"
            "claim('from the copy', str(data.folders.train) == copy)\n"
            "seed_everything(40)\n"
            "shifted = random.random()\n"
            "random.seed(42)\n"
            "claim('the seed shift arrives', shifted == random.random())\n",
        )
        monkeypatch.setenv("LRBOOK_PROBE", "from the caller")
        result = robustness.run_one(
            probe, robustness.Setting(2, None, "pinned"), out, copy
        )
    finally:
        for path in [source, *source.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert result.error is None and result.failed_cells == []
    assert [(c["statement"], c["held"]) for c in result.claims] == [
        ("the caller variable arrives", True),
        ("HOME and PATH arrive", True),
        ("the real images are read", True),
        ("from the copy", True),
        ("the seed shift arrives", True),
    ]
    assert result.claims[2]["numbers"] == {"images": 6.0}
    assert not (source / ".lrlib-cache").exists()  # nothing written beside the source
    assert (copy / ".lrlib-cache").is_dir()
    assert os.environ.get("LRBOOK_PROBE") == "from the caller"  # restored
