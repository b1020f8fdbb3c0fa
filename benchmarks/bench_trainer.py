"""How much does lrlib's Trainer cost over a plain hand-written training loop?

Both train the book's small CNN (``TwoBlockCNN``: 5 filters, dropout 0.3) for
one epoch over the same 2,500 random 3x28x28 images in mini-batches of 16,
with Adam, on the device ``lrlib.device.get_device()`` picks. Each loop has
its own identical copy of the model and optimizer. The two are timed
alternately (the order flips every repetition), so drifts in machine load
affect both. Reported: the ratio of the median epoch times, and the median of
the ratios of each adjacent pair (steadier on a busy machine), both compared
with the target of 1.10.

Run: ``python benchmarks/bench_trainer.py [--repeats 9] [--samples 2500] [--threads N]``
(on a shared, busy CPU, ``--threads 1`` avoids threads waiting for each other).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrlib.device import get_device
from lrlib.models import TwoBlockCNN
from lrlib.training import Trainer

TARGET_RATIO = 1.10


def plain_epoch(model, optimizer, loss_fn, loader, device) -> float:
    """The loop a reader would write by hand: the reference the trainer is held to."""
    model.train()
    total, count = torch.zeros((), device=device), 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(targets)
        count += len(targets)
    return total.item() / count


def timed(run, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed epochs per loop")
    parser.add_argument("--samples", type=int, default=2500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    device = get_device()
    torch.manual_seed(0)
    images = torch.randn(args.samples, 3, 28, 28)
    data = TensorDataset(images, torch.randint(0, 3, (args.samples,)))
    loss_fn = nn.CrossEntropyLoss()

    plain_model = TwoBlockCNN(n_filters=5, p=0.3).to(device)
    trainer_model = copy.deepcopy(plain_model)
    plain_optimizer = torch.optim.Adam(plain_model.parameters(), lr=3e-4)
    plain_loader = DataLoader(data, batch_size=args.batch_size, shuffle=True)
    trainer = Trainer(
        trainer_model,
        loss_fn,
        torch.optim.Adam(trainer_model.parameters(), lr=3e-4),
        DataLoader(data, batch_size=args.batch_size, shuffle=True),
        device=device,
        progress=False,
    )

    def run_plain() -> None:
        plain_epoch(plain_model, plain_optimizer, loss_fn, plain_loader, device)

    def run_trainer() -> None:
        trainer.fit(1)

    run_plain(), run_trainer()  # warm-up: allocations, lazy imports, caches
    times: dict[str, list[float]] = {"plain": [], "trainer": []}
    for repeat in range(args.repeats):
        order = [("plain", run_plain), ("trainer", run_trainer)]
        for name, run in order if repeat % 2 == 0 else order[::-1]:
            times[name].append(timed(run, device))

    plain, ours = statistics.median(times["plain"]), statistics.median(times["trainer"])
    ratio = ours / plain
    paired = statistics.median(t / p for t, p in zip(times["trainer"], times["plain"]))
    print(f"device: {device}, torch threads: {torch.get_num_threads()}")
    print(
        f"{args.samples} samples, batch {args.batch_size}, {len(plain_loader)} batches "
        f"per epoch, {args.repeats} alternating repetitions"
    )
    for name, label in (("plain", "plain loop "), ("trainer", "Trainer.fit")):
        median, fastest = statistics.median(times[name]), min(times[name])
        print(
            f"{label}: median {median * 1e3:8.1f} ms/epoch  (min {fastest * 1e3:.1f})"
        )
    for label, value in (
        ("ratio of medians", ratio),
        ("median of paired ratios", paired),
    ):
        verdict = "within" if value <= TARGET_RATIO else "ABOVE"
        print(
            f"{label:<24} trainer / plain = {value:.3f} "
            f"(target <= {TARGET_RATIO:.2f}: {verdict})"
        )


if __name__ == "__main__":
    main()
