"""Warm kernels: the book's notebook kernels forked from a process that has
already imported torch.

Every notebook runs in a fresh kernel of its own, and about 3.5 s of starting
one is importing the same libraries (torch 1.4 s, ``torch._dynamo`` 1.2 s,
which the first optimizer step imports, torchvision, matplotlib, ipykernel).
A *zygote* imports them once; each kernel is then a ``fork()`` of it that
starts ipykernel exactly as ``python -m ipykernel_launcher`` would, in a fresh
process with its own state: only the imports are shared, and only when they
cannot have differed.

How a kernel is started:

* the kernel spec (:func:`kernel_spec_dir`) runs this file as a tiny
  *launcher*: ``python tools/warm_kernel.py -f CONNECTION_FILE``. It is the
  process the kernel manager sees (and signals);
* when ``LRBOOK_WARM_KERNELS`` names a zygote's socket, the launcher sends it
  its arguments, folder, environment and standard streams; the zygote forks a
  kernel, tells the launcher its process id and, later, how it ended. The
  launcher passes signals (interrupts, termination) on to the kernel and exits
  as the kernel did; should the launcher be killed, the zygote kills the kernel;
* the zygote refuses, and the launcher becomes an ordinary kernel
  (``exec python -m ipykernel_launcher``), whenever a fork could differ from a
  fresh start: another folder, or an environment that differs in anything but
  the variables the kernel manager sets per kernel (``JPY_*``) and pytest's
  ``PYTEST_CURRENT_TEST``. A thread-count variable or ``LRBOOK_DATA_SOURCE``
  set for one test therefore gets a cold kernel, as before.

:func:`warm_kernels` runs a zygote for a block of code (``tools.notebooks``
for ``make execute``, ``make site`` and ``make bench``; ``tests/conftest.py``
for the test command, one zygote per worker).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SOCKET_ENV = "LRBOOK_WARM_KERNELS"
KERNEL_NAME = "lrbook"
LAUNCHER = Path(__file__).resolve()
ROOT = LAUNCHER.parent.parent

# What every chapter imports: the zygote imports it before the first fork.
PRELOAD = (
    "numpy",
    "torch",
    "torch._dynamo",  # torch.optim imports it at the first step
    "torch.optim",
    "torch.nn",
    "torch.utils.data",
    "torchvision",
    "torchvision.transforms.v2",
    "matplotlib",
    "matplotlib.pyplot",
    "PIL.Image",
    "ipywidgets",
)
# Not ipykernel: it reads the per-kernel JPY_PARENT_PID when imported.
# Variables the kernel manager sets for each kernel (or pytest for each test):
# they may differ between the zygote and a kernel; the kernel gets its own.
PER_KERNEL_PREFIXES = ("JPY_", "IPY_")
# COLUMNS and LINES: the terminal's size, which readline exports when a
# process that started the kernel initialized it.
PER_KERNEL = frozenset({"PYTEST_CURRENT_TEST", "COLUMNS", "LINES"})
# ipykernel's choice when MPLBACKEND is unset (ipykernel/kernelapp.py); set
# before matplotlib is imported, matplotlib reads it then.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
FORWARDED_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)  # not all of them exist on Windows
)
START_TIMEOUT_S = 30  # for the zygote to listen, on a loaded machine


# --------------------------------------------------------------------------
# What may be shared
# --------------------------------------------------------------------------


def _shared_part(environ: dict[str, str]) -> dict[str, str]:
    return {
        key: value
        for key, value in environ.items()
        if key not in PER_KERNEL and not key.startswith(PER_KERNEL_PREFIXES)
    }


def refusal(
    zygote_env: dict[str, str], zygote_cwd: str, env: dict[str, str], cwd: str
) -> str | None:
    """Why a kernel asked for with ``env`` in ``cwd`` cannot be forked from a
    zygote started with ``zygote_env`` in ``zygote_cwd``; None if it can.

    Example:
        >>> refusal({"A": "1"}, "/b", {"A": "1", "JPY_PARENT_PID": "7"}, "/b")
        >>> refusal({"A": "1"}, "/b", {"A": "2"}, "/b")
        'environment differs in A'
        >>> refusal({"A": "1"}, "/b", {"A": "1"}, "/tmp")
        "folder differs: '/tmp' (zygote: '/b')"
    """
    if os.path.realpath(cwd) != os.path.realpath(zygote_cwd):
        return f"folder differs: {cwd!r} (zygote: {zygote_cwd!r})"
    ours, theirs = _shared_part(zygote_env), _shared_part(env)
    differing = sorted(
        key for key in ours.keys() | theirs.keys() if ours.get(key) != theirs.get(key)
    )
    if differing:
        return f"environment differs in {', '.join(differing)}"
    return None


# --------------------------------------------------------------------------
# The launcher: the process the kernel manager starts and signals
# --------------------------------------------------------------------------


def _read_line(sock: socket.socket, buffer: bytearray) -> dict | None:
    """The next JSON line from ``sock`` (None at end of stream)."""
    while b"\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return json.loads(line)


def send_request(sock: socket.socket, request: dict) -> None:
    """Send a zygote ``request`` (``argv``, ``cwd``, ``env``) as one JSON line,
    with this process's standard streams attached to its first byte."""
    payload = json.dumps(request).encode() + b"\n"
    socket.send_fds(sock, [payload[:1]], [0, 1, 2])
    sock.sendall(payload[1:])


def _cold_start(argv: list[str]) -> None:
    """Become an ordinary kernel, as the stock kernel spec starts it."""
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])


def _exit_like(status: int) -> None:
    """Exit as a process that ended with waitpid ``status`` did."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    sys.exit(os.waitstatus_to_exitcode(status) if status else 0)


def launch(argv: list[str]) -> None:
    """Start a kernel with ipykernel's arguments ``argv``: forked by the zygote
    named in ``LRBOOK_WARM_KERNELS``, or cold when there is none or it refuses."""
    address = os.environ.get(SOCKET_ENV)
    if not address:
        _cold_start(argv)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)
        send_request(sock, {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)})
        buffer = bytearray()
        reply = _read_line(sock, buffer)
    except OSError:
        reply = None
    if not reply or "pid" not in reply:
        why = reply.get("refused") if reply else "no zygote answered"
        print(f"warm kernels: starting cold ({why})", file=sys.stderr, flush=True)
        _cold_start(argv)
    pid = reply["pid"]

    def forward(signum, _frame) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    while True:
        try:
            ended = _read_line(sock, buffer)
            break
        except InterruptedError:
            continue
    # No answer: the zygote is gone, and the kernel with it.
    _exit_like(ended["status"] if ended else 1 << 8)


# --------------------------------------------------------------------------
# The zygote
# --------------------------------------------------------------------------


def _run_kernel(request: dict) -> int:
    """In the forked child: become the kernel a cold start would have made."""
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"])
    # The seeds a new process draws from the operating system, drawn afresh:
    # every fork would otherwise share the zygote's.
    import random

    import numpy as np
    import torch

    random.seed()
    np.random.seed()
    torch.seed()
    import ipykernel_launcher

    sys.argv = [ipykernel_launcher.__file__, *request["argv"]]
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance()
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def _fork_kernel(request: dict, fds: list[int], keep: list[int]) -> int:
    """Fork a kernel with the launcher's standard streams ``fds``; its pid."""
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        for fd in keep:
            os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        status = _run_kernel(request)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)
    return pid  # not reached


def serve(address: str) -> None:
    """Import :data:`PRELOAD`, then fork a kernel for each launcher that asks.

    Runs until its standard input closes (the process that started it ended or
    left :func:`warm_kernels`). One thread, so that a fork copies no lock
    another thread holds.
    """
    start_env, start_cwd = dict(os.environ), os.getcwd()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Listening first: a launcher that comes during the imports waits for them.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for module in PRELOAD:
        __import__(module)
    os.environ.clear()
    os.environ.update(start_env)

    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "owner")
    kernels: dict[int, socket.socket] = {}  # pid -> its launcher's connection
    try:
        _serve(listener, selector, kernels, start_env, start_cwd)
    finally:
        for pid in kernels:
            _kill(pid)


def _serve(listener, selector, kernels, start_env, start_cwd) -> None:
    while True:
        for key, _ in selector.select(timeout=0.1):
            if key.data == "owner":
                if not os.read(0, 1024):
                    return
            elif key.data == "accept":
                conn, _ = listener.accept()
                _answer(conn, start_env, start_cwd, listener, selector, kernels)
            else:  # a launcher's connection: it closed, so it ended
                pid = key.data
                selector.unregister(key.fileobj)
                _kill(pid)
        _reap(kernels, selector)


def _answer(conn, start_env, start_cwd, listener, selector, kernels) -> None:
    """Read a launcher's request from ``conn``; fork its kernel or refuse."""
    fds: list[int] = []
    try:
        conn.settimeout(10)
        first, fds, _, _ = socket.recv_fds(conn, 65536, 3)
        buffer = bytearray(first)
        request = _read_line(conn, buffer)
        conn.settimeout(None)
        if request is None or len(fds) != 3:
            raise OSError("incomplete request")
        why = refusal(start_env, start_cwd, request["env"], request["cwd"])
        if why:
            conn.sendall(json.dumps({"refused": why}).encode() + b"\n")
            conn.close()
            return
        keep = [listener.fileno(), conn.fileno(), 0]
        keep += [k.fileobj.fileno() for k in selector.get_map().values()]
        keep.append(selector.fileno())
        pid = _fork_kernel(request, fds, sorted(set(keep)))
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        kernels[pid] = conn
        selector.register(conn, selectors.EVENT_READ, pid)
    except (OSError, ValueError) as exc:
        print(f"warm kernels: a request failed: {exc!r}", file=sys.stderr, flush=True)
        conn.close()
    finally:
        for fd in fds:
            os.close(fd)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(kernels: dict[int, socket.socket], selector) -> None:
    """Tell the launchers of the kernels that ended how they ended."""
    while kernels:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        conn = kernels.pop(pid, None)
        if conn is None:
            continue
        try:
            selector.unregister(conn)
        except KeyError:
            pass
        try:
            conn.sendall(json.dumps({"status": status}).encode() + b"\n")
        except OSError:
            pass
        conn.close()


# --------------------------------------------------------------------------
# For the tools and the tests
# --------------------------------------------------------------------------


def kernel_spec_dir() -> Path:
    """A folder of kernel specs holding :data:`KERNEL_NAME`: ipykernel's own
    spec for this interpreter, started through the launcher. Its parent can go
    on ``JUPYTER_PATH`` (nbval's ``--nbval-kernel-name lrbook``)."""
    from ipykernel.kernelspec import get_kernel_dict

    spec = get_kernel_dict()
    spec["argv"] = [sys.executable, str(LAUNCHER), "-f", "{connection_file}"]
    spec["display_name"] = "Python 3 (lrbook: warm start)"
    folder = ROOT / "_build" / "jupyter" / "kernels"
    path = folder / KERNEL_NAME / "kernel.json"
    text = json.dumps(spec, indent=1)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return folder


def _spec_manager(parent=None):
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager(kernel_dirs=[str(kernel_spec_dir())], parent=parent)


def kernel_manager_class():
    """nbclient's kernel manager, finding :data:`KERNEL_NAME` (as
    ``NotebookClient(kernel_name=KERNEL_NAME, kernel_manager_class=...)``)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class WarmKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return _spec_manager(self)

    return WarmKernelManager


def kernel_manager(**kwargs):
    """A blocking kernel manager for :data:`KERNEL_NAME` (cold when no zygote
    runs)."""
    from jupyter_client import KernelManager

    specs = _spec_manager()
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, **kwargs)


@contextmanager
def warm_kernels(cwd: Path) -> Iterator[str | None]:
    """Run a zygote for kernels started in ``cwd`` with the current environment,
    for the block; ``LRBOOK_WARM_KERNELS`` names its socket meanwhile (yielded).

    Returns once the zygote listens (a fraction of a second): it imports while
    the caller goes on, and a kernel asked for meanwhile waits for it. Should
    the zygote fail, kernels start cold and its error output is printed when
    the block ends. Where processes cannot fork (Windows), there is no zygote
    (None is yielded) and every kernel starts cold.
    """
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="lrbook-zygote-"))
    address = str(folder / "socket")
    log = folder / "zygote.log"
    saved = os.environ.get(SOCKET_ENV)
    os.environ[SOCKET_ENV] = address
    with open(log, "w") as errors:
        process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "serve", address],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=errors,
            stderr=errors,
        )
    try:
        # Listening takes a moment; the imports then go on while the caller does.
        deadline = time.monotonic() + START_TIMEOUT_S
        while not os.path.exists(address) and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        yield address
    finally:
        if saved is None:
            os.environ.pop(SOCKET_ENV, None)
        else:
            os.environ[SOCKET_ENV] = saved
        process.stdin.close()  # the zygote's signal to end, once it listens
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:  # still importing
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.returncode:
            print(
                f"warm kernels: the zygote ended with status {process.returncode}; "
                f"kernels started cold:\n{log.read_text()[-2000:]}",
                file=sys.stderr,
            )
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> None:
    if argv[:1] == ["serve"]:
        del sys.path[0]  # this file's folder: the imports see what a kernel sees
        status = 0
        try:
            serve(argv[1])
        except SystemExit:  # SIGTERM
            pass
        except BaseException:  # noqa: BLE001 - into the log the owner prints
            import traceback

            traceback.print_exc()
            status = 1
        sys.stderr.flush()
        # Tearing down torch and the rest takes a second or more; nothing of
        # it needs to run.
        os._exit(status)
    else:
        launch(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
