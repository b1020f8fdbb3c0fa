"""Warm kernels (tools/warm_kernel.py): forked from a zygote that imported torch,
yet each one a fresh kernel that behaves like a cold one, and a cold one
whenever a fork could differ."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tools import warm_kernel

SNAPSHOT = (
    "import os, sys, random, numpy, torch\n"
    "unseeded = (torch.initial_seed(), random.random(), numpy.random.rand())\n"
    "torch.manual_seed(0)\n"
    "print(os.getpid(), os.getppid(), 'torchvision' in sys.modules, "
    "torch.rand(2).tolist(), unseeded)"
)


@pytest.fixture(scope="module")
def zygote(tmp_path_factory) -> Path:
    """A zygote for kernels started in a folder of this module's own."""
    folder = tmp_path_factory.mktemp("warm")
    with warm_kernel.warm_kernels(folder):
        yield folder


def start(folder: Path):
    km = warm_kernel.kernel_manager()
    km.start_kernel(cwd=str(folder))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


def run(kc, code: str) -> tuple[str, dict]:
    """Run ``code``; its printed text and the execute reply's content."""
    out: list[str] = []

    def hook(msg) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, output_hook=hook, timeout=120)
    return "".join(out), reply["content"]


def stop(km, kc) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def snapshot(folder: Path) -> tuple[list[str], int]:
    """What a new kernel in ``folder`` prints of itself, and its launcher's pid."""
    km, kc = start(folder)
    try:
        text, reply = run(kc, SNAPSHOT)
        assert reply["status"] == "ok", reply
        return text.split(" ", 3), km.provisioner.pid
    finally:
        stop(km, kc)


def test_a_kernel_is_forked_with_the_imports_done_and_a_fresh_state(zygote):
    (pid, ppid, preloaded, rest), launcher = snapshot(zygote)
    # Not the launcher itself (a cold start execs in place), nor its child: the
    # zygote's, with torchvision imported before the first cell ran.
    assert int(pid) != launcher and int(ppid) != launcher
    assert preloaded == "True"
    (_, _, _, again), _ = snapshot(zygote)
    # Seeded, the same numbers; unseeded, each kernel draws its own (torch's,
    # Python's and numpy's generators), as new processes do.
    seeded, _, unseeded = rest.partition("] ")
    seeded_again, _, unseeded_again = again.partition("] ")
    assert seeded == seeded_again
    for mine, other in zip(unseeded.split(", "), unseeded_again.split(", ")):
        assert mine != other


def test_a_warm_kernel_computes_what_a_cold_one_does(zygote, tmp_path, monkeypatch):
    (_, _, _, warm), _ = snapshot(zygote)
    # No zygote answers at this address: the launcher becomes the kernel itself.
    monkeypatch.setenv(warm_kernel.SOCKET_ENV, str(tmp_path / "no-zygote"))
    (pid, _, preloaded, cold), launcher = snapshot(zygote)
    assert int(pid) == launcher and preloaded == "False"
    assert warm.partition("] ")[0] == cold.partition("] ")[0]


def ask(address: str, env: dict[str, str], cwd: Path) -> dict:
    """Send the zygote a launcher's request; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(address)
        request = {"argv": ["--version"], "cwd": str(cwd), "env": env}
        warm_kernel.send_request(sock, request)
        return json.loads(sock.makefile().readline())


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"OMP_NUM_THREADS": "2"}, "environment differs in OMP_NUM_THREADS"),
        ({"LRBOOK_DATA_SOURCE": "real"}, "environment differs in LRBOOK_DATA_SOURCE"),
        ({"folder": True}, "folder differs"),
    ],
)
def test_the_zygote_refuses_another_environment_or_folder(
    zygote, tmp_path, change, reason
):
    env, cwd = dict(os.environ), zygote
    if change.pop("folder", False):
        cwd = tmp_path
    env.update(change)
    answer = ask(os.environ[warm_kernel.SOCKET_ENV], env, cwd)
    assert reason in answer["refused"]


def test_the_variables_set_per_kernel_do_not_make_it_cold(zygote, monkeypatch):
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "another test")
    monkeypatch.setenv("JPY_SESSION_NAME", "elsewhere.ipynb")
    monkeypatch.setenv("COLUMNS", "20")
    (pid, _, preloaded, _), launcher = snapshot(zygote)
    assert int(pid) != launcher and preloaded == "True"


def test_refusal_names_what_differs():
    assert warm_kernel.refusal({"A": "1"}, "/b", {"A": "1", "B": "2"}, "/b") == (
        "environment differs in B"
    )
    env = {"A": "1", "JPY_PARENT_PID": "3", "PYTEST_CURRENT_TEST": "t"}
    assert warm_kernel.refusal({"A": "1"}, "/b", env, "/b") is None


def test_an_interrupt_reaches_the_forked_kernel(zygote):
    km, kc = start(zygote)
    try:
        # stop_on_error=False: the error must not make the kernel abort the
        # request sent right after it (ipykernel aborts what it has queued).
        msg_id = kc.execute("import time\ntime.sleep(60)", stop_on_error=False)
        time.sleep(1)
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        text, content = run(kc, "print('still here')")  # the kernel lives on
        assert content["status"] == "ok" and text == "still here\n"
    finally:
        stop(km, kc)


def _gone(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_killing_the_launcher_kills_the_kernel(zygote):
    km, kc = start(zygote)
    try:
        text, _ = run(kc, "import os; print(os.getpid())")
        kernel = int(text)
        assert kernel != km.provisioner.pid
        os.kill(km.provisioner.pid, signal.SIGKILL)
        assert _gone(kernel), "the forked kernel outlived its launcher"
    finally:
        kc.stop_channels()
        km.cleanup_resources()


def test_the_launcher_ends_as_the_kernel_ended(zygote):
    km, kc = start(zygote)
    try:
        kc.execute("import os; os._exit(3)")
        deadline = time.monotonic() + 30
        while km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert km.provisioner.process.wait(timeout=1) == 3
    finally:
        kc.stop_channels()
        km.cleanup_resources()


def test_the_zygote_ends_with_its_block_and_leaves_nothing(tmp_path):
    with warm_kernel.warm_kernels(tmp_path) as address:
        assert os.environ[warm_kernel.SOCKET_ENV] == address
        assert Path(address).is_socket()  # listening when the block starts
    assert warm_kernel.SOCKET_ENV not in os.environ or (
        os.environ[warm_kernel.SOCKET_ENV] != address
    )
    assert not Path(address).parent.exists()


def test_the_tools_kernels_are_warm_and_shut_down_after_their_notebook(tmp_path):
    import nbformat

    from tools.notebooks import execute

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os, sys\nprint(os.getpid(), 'torchvision' in sys.modules)"
        )
    ]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    with warm_kernel.warm_kernels(tmp_path):
        execute(path, write=True)
        done = nbformat.read(path, as_version=4)
        pid, preloaded = done.cells[0].outputs[0]["text"].split()
        assert preloaded == "True"
        # nbclient shut the kernel down (an unowned kernel manager would not).
        assert _gone(int(pid)), "the notebook's kernel outlived its run"
    assert done.metadata["kernelspec"]["name"] == "python3"


def test_without_fork_there_is_no_zygote_and_kernels_start_cold(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "fork")
    monkeypatch.delenv(warm_kernel.SOCKET_ENV, raising=False)
    with warm_kernel.warm_kernels(tmp_path) as address:
        assert address is None
        assert warm_kernel.SOCKET_ENV not in os.environ
