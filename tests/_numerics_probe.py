"""Train the book's CNN for two steps and print a digest of its weights.

Run as a script by ``tests/test_numerics.py``, natively and under an emulated
CPU (``qemu-x86_64 -cpu MODEL``). Prints one JSON object: for each optimizer
of the book and each seed, the SHA-256 of every parameter's bytes after
training (``python tests/_numerics_probe.py [SEED ...]``, seed 0 by default).

``--eager-only`` first puts a stand-in for ``torch._dynamo`` in its place.
``torch.optim`` imports ``torch._dynamo`` at every step only to tell
``torch.compile`` where a graph must break; eager training uses nothing of it,
yet importing it costs 9 s of an emulated CPU's 27. The stand-in offers only
what eager training calls, so that anything more fails loudly, and the test
compares its digests with a native run that imports the real module.

Two steps of eight images are the least that shows what the test must show:
unpinned, Intel and AMD gave different bits for both optimizers after one
step already, for each of five seeds (steps x batch 1x8, 2x8, 1x16, 2x16,
12x16 checked), and pinned runs gave the same bits everywhere; the second
step puts the momentum and Adam's moments to work. Under emulation the
training is then a small part of a probe: importing torch takes most of its
time.
"""

from __future__ import annotations

import hashlib
import json
import sys
import types

import torch
from torch import nn

from lrlib.models import TwoBlockCNN

STEPS = 2
BATCH = 8


def digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def train(make_optimizer, seed: int = 0) -> str:
    torch.manual_seed(seed)
    images = torch.rand(STEPS * BATCH, 3, 28, 28)
    labels = torch.randint(0, 3, (STEPS * BATCH,))
    model = TwoBlockCNN(n_filters=5, p=0.3)  # dropout: the random draws count too
    optimizer = make_optimizer(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        optimizer.zero_grad()
        loss_fn(model(images[batch]), labels[batch]).backward()
        optimizer.step()
    return digest(model)


EAGER_ONLY = "--eager-only"


def stand_in_for_dynamo() -> types.ModuleType:
    """Install and return a ``torch._dynamo`` with only what eager torch.optim
    calls: ``graph_break()`` and ``disable()``, both doing nothing."""

    def disable(fn=None, recursive=True, *, wrapping=True):
        return fn if fn is not None else (lambda f: f)

    module = types.ModuleType("torch._dynamo", "eager-only stand-in (the probe)")
    module.graph_break = lambda: None
    module.disable = disable
    sys.modules["torch._dynamo"] = module
    torch._dynamo = module
    return module


OPTIMIZERS = {
    "sgd_nesterov": lambda p: torch.optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4
    ),
    "adam_fused": lambda p: torch.optim.Adam(p, lr=3e-3, fused=True),
}

if __name__ == "__main__":
    args = sys.argv[1:]
    if EAGER_ONLY in args:
        args.remove(EAGER_ONLY)
        stand_in_for_dynamo()
    seeds = [int(s) for s in args] or [0]
    print(
        json.dumps(
            {
                f"{name} seed {seed}": train(make, seed)
                for seed in seeds
                for name, make in OPTIMIZERS.items()
            }
        )
    )
