"""What does lrlib's LR range test cost compared with torch-lr-finder's?

Both run the same work: the book's small CNN (two conv blocks of 5 filters,
a hidden layer of 50 units, dropout, 3 classes) with SGD and momentum, on
random 3x28x28 images in mini-batches of 32, 100 learning rates growing
exponentially from 1e-5 to 1 with no early stop. Each side leaves the model
and optimizer as it found them: for torch-lr-finder that means constructing
an ``LRFinder`` (which caches the state), ``range_test`` and ``reset()``;
lrlib's ``range_test`` restores by itself.

Time: wall clock and process CPU time of one whole test, the two sides
alternating (the order flips every repetition, so drifts in machine load hit
both), after a warm-up run of each; the median of the per-pair ratios is
compared with the target ratio 1.05. By default torch uses one thread
(``--threads``): on a small shared CPU, more threads mostly spin.

Memory: each measurement runs in a fresh Python process, so that neither
side inherits memory the other freed. After a few warm-up training steps on
a copy of the model, the process records, all above the level just before
the call:

* heap in use (the headline): glibc's ``mallinfo2()`` bytes in use (CPU
  tensors come from malloc, so they are counted, and so are Python objects),
  sampled after every forward pass and before and after every optimizer step,
  the peak over these samples. Exact bytes, no allocator slack, so the state
  cache shows plainly;
* the peak resident set size (Linux: ``VmHWM``, reset through
  ``/proc/self/clear_refs``): what the OS saw, including pages the allocator
  kept from the warm-up, hence noisier;
* on CUDA, ``torch.cuda.max_memory_allocated``;
* the peak of Python's own allocations (``tracemalloc``), in a second call.

The median of the per-pair ratios is compared with the target ratio 1.10.

Run: ``python benchmarks/bench_range_test.py [--repeats 7] [--memory-repeats 5]``
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import functools
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings

os.environ.setdefault(
    "TQDM_DISABLE", "1"
)  # torch-lr-finder's progress bar, before tqdm loads

import torch  # noqa: E402
import torch_lr_finder  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from lrlib import get_device, range_test  # noqa: E402

TIME_TARGET = 1.05
MEMORY_TARGET = 1.10
START_LR, END_LR, NUM_ITER = 1e-5, 1.0, 100


def small_cnn(filters: int = 5, hidden: int = 50, p: float = 0.3) -> nn.Module:
    """3@28x28 -> conv3 -> 26 -> pool -> 13 -> conv3 -> 11 -> pool -> 5 -> hidden -> 3.

    The chapter CNN, built here so that the benchmark does not depend on lrlib.models.
    """
    return nn.Sequential(
        nn.Conv2d(3, filters, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(filters, filters, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(p),
        nn.Linear(filters * 5 * 5, hidden),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(hidden, 3),
    )


def setup(args, device):
    torch.manual_seed(0)
    data = TensorDataset(
        torch.randn(args.samples, 3, 28, 28), torch.randint(0, 3, (args.samples,))
    )
    loader = DataLoader(data, batch_size=32, shuffle=True)
    model = small_cnn(hidden=args.hidden).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, optimizer, loader


def run_lrlib(model, optimizer, loader) -> int:
    result = range_test(
        model,
        optimizer,
        nn.CrossEntropyLoss(),
        loader,
        start_lr=START_LR,
        end_lr=END_LR,
        num_iter=NUM_ITER,
        diverge_th=None,
    )
    return len(result.losses)


def run_torch_lr_finder(model, optimizer, loader) -> int:
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # get_lr() called outside step()
        finder = torch_lr_finder.LRFinder(model, optimizer, nn.CrossEntropyLoss())
        finder.range_test(
            loader, start_lr=START_LR, end_lr=END_LR, num_iter=NUM_ITER, diverge_th=1e30
        )  # fmt: skip  (it cannot be switched off)
        finder.reset()
    return len(finder.history["loss"])


RUNS = {"lrlib": run_lrlib, "torch-lr-finder": run_torch_lr_finder}


def timed(run, device) -> tuple[float, float]:
    """Wall-clock and CPU time of this process, in milliseconds."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    points = run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert points == NUM_ITER, f"expected {NUM_ITER} points, got {points}"
    return wall * 1e3, cpu * 1e3


def _kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks "
            "uordblks fordblks keepcost"
        ).split()
    ]


def _heap_in_use() -> int:
    """Bytes malloc has handed out and not got back: arena chunks plus mmapped
    blocks."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def memory_worker(name: str, args, device) -> dict[str, float]:
    """Measure one side's memory in this (fresh) process."""
    model, optimizer, loader = setup(args, device)
    run = RUNS[name]
    warm_model = copy.deepcopy(model)
    warm_optimizer = torch.optim.SGD(warm_model.parameters(), lr=1e-3, momentum=0.9)
    for inputs, targets in list(loader)[:3]:  # kernels, thread pools, allocator
        warm_optimizer.zero_grad()
        nn.functional.cross_entropy(
            warm_model(inputs.to(device)), targets.to(device)
        ).backward()
        warm_optimizer.step()
    del warm_model, warm_optimizer
    gc.collect()

    measured: dict[str, float] = {}
    samples: list[int] = []
    hooks = [
        model.register_forward_hook(lambda *_: samples.append(_heap_in_use())),
        optimizer.register_step_pre_hook(lambda *_: samples.append(_heap_in_use())),
        optimizer.register_step_post_hook(lambda *_: samples.append(_heap_in_use())),
    ]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        cuda_before = torch.cuda.memory_allocated(device)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    rss_before, heap_before = _kib("VmRSS"), _heap_in_use()
    run(model, optimizer, loader)
    measured["heap_peak_kib"] = (max(samples) - heap_before) / 1024
    measured["rss_peak_kib"] = _kib("VmHWM") - rss_before
    for hook in hooks:
        hook.remove()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        measured["cuda_peak_kib"] = (
            torch.cuda.max_memory_allocated(device) - cuda_before
        ) / 1024

    gc.collect()
    tracemalloc.start()
    run(model, optimizer, loader)
    measured["python_peak_kib"] = tracemalloc.get_traced_memory()[1] / 1024
    tracemalloc.stop()
    return measured


def measure_memory(name: str, args) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--samples",
        str(args.samples),
        "--hidden",
        str(args.hidden),
        "--threads",
        str(args.threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(
    label: str, unit: str, values: dict[str, list[float]], target: float
) -> None:
    """Print both sides and their ratio.

    Measurements i of the two sides were taken one right after the other, so
    the median of the per-pair ratios cancels slow drifts in machine load; it
    is the number compared with the target. The ratio of medians is shown too.
    """
    ours, theirs = values["lrlib"], values["torch-lr-finder"]
    paired = statistics.median(a / b for a, b in zip(ours, theirs))
    of_medians = statistics.median(ours) / statistics.median(theirs)
    verdict = "within" if paired <= target else "ABOVE"
    print(f"{label}:")
    for name in RUNS:
        print(
            f"    {name:16s} median {statistics.median(values[name]):10.2f} {unit}  "
            f"(min {min(values[name]):.2f}, max {max(values[name]):.2f})"
        )
    print(
        f"    ratio lrlib / torch-lr-finder: {paired:.3f} (median of pairs; of medians "
        f"{of_medians:.3f})  target <= {target:.2f}: {verdict} target"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed tests per side")
    parser.add_argument(
        "--memory-repeats", type=int, default=5, help="fresh processes per side"
    )
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument(
        "--hidden", type=int, default=50, help="hidden units (model size)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads; 0: torch's default"
    )
    parser.add_argument("--worker", choices=sorted(RUNS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = get_device()

    if args.worker:
        print(json.dumps(memory_worker(args.worker, args, device)))
        return

    model, optimizer, loader = setup(args, device)
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"device: {device}, torch threads: {torch.get_num_threads()}, "
        f"model: {parameters:,} parameters, {NUM_ITER} iterations of batch 32"
    )

    for run in RUNS.values():
        timed(functools.partial(run, model, optimizer, loader), device)  # warm-up
    walls: dict[str, list[float]] = {name: [] for name in RUNS}
    cpus: dict[str, list[float]] = {name: [] for name in RUNS}
    order = list(RUNS.items())
    for repeat in range(args.repeats):
        for name, run in order if repeat % 2 == 0 else order[::-1]:
            wall, cpu = timed(functools.partial(run, model, optimizer, loader), device)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(f"time ({args.repeats} alternating repetitions, one whole test each):")
    report("  wall clock", "ms", walls, TIME_TARGET)
    # On a CPU shared with other jobs, the process's CPU time is steadier than the wall
    # clock.
    report("  CPU time of this process", "ms", cpus, TIME_TARGET)

    memory: dict[str, dict[str, list[float]]] = {}
    for repeat in range(args.memory_repeats):
        names = list(RUNS) if repeat % 2 == 0 else list(RUNS)[::-1]
        for name in names:
            for metric, value in measure_memory(name, args).items():
                memory.setdefault(metric, {n: [] for n in RUNS})[name].append(value)
    print(f"memory ({args.memory_repeats} fresh processes per side, alternating):")
    labels = {
        "heap_peak_kib": "  peak heap in use above start (mallinfo2, sampled)",
        "rss_peak_kib": "  peak RSS above start",
        "cuda_peak_kib": "  peak CUDA allocation above start",
        "python_peak_kib": "  peak Python allocations (tracemalloc)",
    }
    for metric, values in memory.items():
        report(labels[metric], "KiB", values, MEMORY_TARGET)


if __name__ == "__main__":
    main()
