"""The pinned numerics: the same bits on other CPUs, and why the pins are needed.

The cross-CPU tests run ``tests/_numerics_probe.py`` (two training steps of the
book's CNN with each of the book's optimizers, SGD with Nesterov momentum and
fused Adam) natively and under QEMU's user-mode emulation of an Intel Haswell
(AVX2) and an AMD Zen (EPYC, AVX2) processor: pinned, every run gives the same
bits; unpinned, Intel and AMD differ. The emulated probes leave out the import
of ``torch._dynamo``, which eager training does not use (a native probe checks
that this changes no bit). QEMU runs the very same wheels, so what
differs is only what the libraries read from the processor: instruction sets,
vendor, cache sizes. ``make test`` installs Debian's ``qemu-user`` when it is
missing (``make qemu``), and starts this file first (``tests/_scheduling.py``):
its six probes, four of them emulated, take about 40 s of both cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from lrlib import numerics
from lrlib.stats import ChannelStats

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "_numerics_probe.py"
EAGER_ONLY = "--eager-only"  # tests/_numerics_probe.py's flag
QEMU = shutil.which("qemu-x86_64")
EMULATED = ("Haswell-v4", "EPYC-v3")  # Intel AVX2 and AMD Zen AVX2
PROBE_TIMEOUT_S = 900  # importing torch under emulation takes 15 to 30 s of CPU


def _probe_env(pinned: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in numerics.PINNED_ENV}
    env["PYTHONPATH"] = str(ROOT)
    return numerics._pinned_environment(env) if pinned else env


def _start(cpu: str | None, pinned: bool, eager_only: bool) -> subprocess.Popen:
    command = [sys.executable, str(PROBE)]
    if eager_only:
        command.append(EAGER_ONLY)
    if cpu is not None:
        command = [QEMU, "-cpu", cpu, *command]
    return subprocess.Popen(
        command,
        env=_probe_env(pinned),
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def digests() -> dict[tuple[str, bool], dict[str, str]]:
    """Every probe run at once (about 20 s of CPU each under emulation).

    The emulated probes train with the eager-only stand-in for torch._dynamo
    (``tests/_numerics_probe.py``); the native probe imports the real one, and
    a second native probe with the stand-in must give its bits too.
    """
    if QEMU is None:
        pytest.fail("qemu-x86_64 is missing: `make qemu` installs Debian's qemu-user")
    runs = {
        ("native", True): _start(None, True, eager_only=False),
        ("native eager-only", True): _start(None, True, eager_only=True),
    }
    for cpu in EMULATED:
        runs[(cpu, True)] = _start(cpu, True, eager_only=True)
        runs[(cpu, False)] = _start(cpu, False, eager_only=True)
    results = {}
    for key, process in runs.items():
        out, err = process.communicate(timeout=PROBE_TIMEOUT_S)
        assert process.returncode == 0, f"probe {key} failed:\n{err[-2000:]}"
        results[key] = json.loads(out.strip().splitlines()[-1])
    return results


@pytest.mark.emulated
def test_pinned_runs_are_bit_identical_across_cpus(digests):
    native = digests[("native", True)]
    for cpu in EMULATED:
        assert digests[(cpu, True)] == native, (
            f"pinned training differs on emulated {cpu}"
        )


@pytest.mark.emulated
def test_the_eager_only_stand_in_changes_no_bit(digests):
    assert digests[("native eager-only", True)] == digests[("native", True)]


@pytest.mark.emulated
def test_without_the_pins_intel_and_amd_differ(digests):
    intel, amd = (digests[(cpu, False)] for cpu in EMULATED)
    differing = [name for name in intel if intel[name] != amd[name]]
    assert differing, (
        "unpinned training gave the same bits on Intel and AMD: "
        "the pins would prove nothing"
    )


def test_pinned_environment_sets_every_pin_and_keeps_the_rest():
    env = numerics._pinned_environment({"HOME": "/home/reader", "OMP_NUM_THREADS": "8"})
    assert env["HOME"] == "/home/reader"
    for name, value in numerics.PINNED_ENV.items():
        assert env[name] == value
    assert env["OMP_NUM_THREADS"] == "1"


def test_reproducible_on_a_given_mapping_sets_the_pins_without_warning():
    env: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        returned = numerics.reproducible(env)
    assert env == numerics.PINNED_ENV == returned


def test_reproducible_after_torch_started_warns_and_pins_threads(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    saved = torch.get_num_threads()
    try:
        with pytest.warns(RuntimeWarning, match="fresh process"):
            numerics.reproducible()
        assert torch.get_num_threads() == 1
        assert os.environ["MKL_CBWR"] == "COMPATIBLE"
    finally:
        torch.set_num_threads(saved)


def test_report_names_what_is_missing():
    assert "pinned" in numerics.numerics_report(numerics.PINNED_ENV)
    partial = {k: v for k, v in numerics.PINNED_ENV.items() if k != "MKL_CBWR"}
    report = numerics.numerics_report(partial)
    assert "not pinned" in report and "MKL_CBWR" in report


def test_the_test_command_runs_pinned():
    """conftest.py applies the pins, so kernels started by the tests inherit them."""
    for name, value in numerics.PINNED_ENV.items():
        assert os.environ.get(name) == value, name


def test_channel_std_is_the_correctly_rounded_square_root():
    rng = np.random.default_rng(0)
    m2 = torch.from_numpy(rng.uniform(0.1, 10.0, size=1000))
    stats = ChannelStats(
        count=7,
        n_images=1,
        mean=torch.zeros(1000),
        m2=m2,
        sum_image_stds=torch.zeros(1000),
    )
    expected = np.sqrt(m2.numpy() / 7)  # IEEE square root: exact rounding on every CPU
    assert np.array_equal(stats.std.numpy(), expected)


def test_reproducible_adam_is_fused_adam_and_refuses_fused():
    w = torch.nn.Parameter(torch.zeros(3))
    optimizer = numerics.reproducible_adam([w], lr=0.1, betas=(0.8, 0.9))
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["fused"] is True and optimizer.defaults["betas"] == (
        0.8,
        0.9,
    )
    with pytest.raises(TypeError, match="sets fused=True itself"):
        numerics.reproducible_adam([w], fused=False)
