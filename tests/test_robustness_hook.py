"""lrlib.book.robustness: the benchmark shifts the book's seeds from outside.

``seed_everything`` and ``sampler_seed`` read no environment variable; the
robustness benchmark installs a shift by wrapping them, in every process it
starts, through a ``sitecustomize.py`` on ``PYTHONPATH``. These tests start
such processes and compare their random numbers with plain ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from lrlib import seeding
from lrlib.book import robustness
from lrlib.book.robustness import (
    SEED_SHIFT_ENV,
    install_seed_shift,
    seed_shift_from_env,
    write_startup_hook,
)
from tools.bookconfig import ROOT

# What a process prints: the first numbers drawn after seed_everything(42),
# through the flat namespace, plus the sampler seed of a run seeded with 42.
PROBE = (
    "import json, torch\n"
    "from lrlib import seed_everything\nfrom lrlib.distributed import sampler_seed\n"
    "g = seed_everything(42)\n"
    "print(json.dumps([torch.rand(3).tolist(), g.initial_seed(), sampler_seed(42)]))\n"
)


def run_probe(tmp_path, *, shift: str | None, hook: bool) -> list:
    env = {k: v for k, v in os.environ.items() if k != SEED_SHIFT_ENV}
    path = [str(ROOT)]
    if hook:
        path.insert(0, str(write_startup_hook(tmp_path / "startup")))
    env["PYTHONPATH"] = os.pathsep.join(path)
    if shift is not None:
        env[SEED_SHIFT_ENV] = shift
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture
def no_shift_afterwards():
    yield
    install_seed_shift(0)


def test_a_process_started_with_the_hook_sees_shifted_seeds(tmp_path):
    plain = run_probe(tmp_path, shift=None, hook=False)
    shifted = run_probe(tmp_path, shift="3", hook=True)
    assert plain[1:] == [42, 42]
    assert shifted[1:] == [45, 45]  # seed_everything and the samplers' seed
    torch.manual_seed(45)
    assert shifted[0] == torch.rand(3).tolist()
    assert shifted[0] != plain[0]


def test_the_variable_alone_shifts_nothing(tmp_path):
    assert run_probe(tmp_path, shift="3", hook=False)[1:] == [42, 42]


def test_the_hook_alone_shifts_nothing(tmp_path):
    assert run_probe(tmp_path, shift=None, hook=True)[1:] == [42, 42]


def test_torchrun_workers_inherit_the_hook(tmp_path):
    # Chapter 9's kernel starts torchrun; its ranks are new processes that get
    # the kernel's environment, PYTHONPATH included, and so the hook.
    script = tmp_path / "rank.py"
    script.write_text(
        "import json, os\nfrom lrlib import seed_everything\n"
        "print(json.dumps([os.environ['RANK'], seed_everything(7).initial_seed()]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != SEED_SHIFT_ENV}
    hook = write_startup_hook(tmp_path / "startup")
    env.update(
        PYTHONPATH=os.pathsep.join([str(hook), str(ROOT)]), **{SEED_SHIFT_ENV: "2"}
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node=2",
            "--rdzv-backend=c10d",
            "--rdzv-endpoint=127.0.0.1:0",
            str(script),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    seen = sorted(json.loads(line) for line in out.stdout.splitlines() if line)
    assert seen == [["0", 9], ["1", 9]]


def test_installing_in_a_live_process_rebinds_every_alias(no_shift_afterwards):
    import lrlib.distributed

    original = seeding.seed_everything
    lrlib.seed_everything  # noqa: B018 (caches the flat binding)
    install_seed_shift(5)
    assert lrlib.seed_everything is seeding.seed_everything is not original
    assert lrlib.distributed.seed_everything is seeding.seed_everything
    assert seeding.seed_everything(1).initial_seed() == 6
    assert lrlib.distributed.sampler_seed(1) == 6
    install_seed_shift(2)  # replaces the shift, does not add to it
    assert seeding.seed_everything(1).initial_seed() == 3
    install_seed_shift(0)
    assert lrlib.seed_everything is seeding.seed_everything is original
    assert seeding.seed_everything(1).initial_seed() == 1


def test_shifted_seeds_wrap_around_and_bad_seeds_keep_their_errors(
    no_shift_afterwards,
):
    install_seed_shift(3)
    assert seeding.seed_everything(2**32 - 1).initial_seed() == 2
    with pytest.raises(ValueError, match="seed must be"):
        seeding.seed_everything(2**32)
    with pytest.raises(TypeError, match="seed must be an int"):
        seeding.seed_everything(1.5)


@pytest.mark.parametrize("raw", ["-1", "two", "1.5"])
def test_a_bad_seed_shift_names_the_variable(raw):
    with pytest.raises(
        ValueError, match="^LRBOOK_SEED_SHIFT must be a non-negative int, got "
    ):
        seed_shift_from_env({SEED_SHIFT_ENV: raw})


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_a_bad_shift_is_refused(bad):
    with pytest.raises(ValueError, match="shift must be a non-negative int"):
        install_seed_shift(bad)


def test_the_startup_hook_is_small_and_guarded(tmp_path):
    code = (write_startup_hook(tmp_path) / "sitecustomize.py").read_text()
    assert code == robustness.STARTUP_CODE
    assert 'os.environ.get("LRBOOK_SEED_SHIFT"' in code


def _harness():
    """benchmarks/robustness.py, imported as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "robustness_harness", ROOT / "benchmarks" / "robustness.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("shift", [0, 3])
def test_a_kernel_started_by_the_harness_sees_the_shift_it_asks_for(tmp_path, shift):
    import nbformat

    from tools.notebooks import notebook_client

    harness = _harness()
    write_startup_hook(tmp_path / harness.STARTUP_FOLDER)
    setting = harness.Setting(shift=shift, standin=4, numerics="pinned")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from lrlib import seed_everything\nseed_everything(42).initial_seed()"
        )
    ]
    path = tmp_path / "probe.ipynb"
    client = notebook_client(nb, path)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(harness._environment(setting, tmp_path / "claims.jsonl"))
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == str(42 + shift)
