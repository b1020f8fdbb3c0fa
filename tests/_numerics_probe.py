"""Train the book's CNN for a few steps and print a digest of its weights.

Run as a script by ``tests/test_numerics.py``, natively and under an emulated
CPU (``qemu-x86_64 -cpu MODEL``). Prints one JSON object: for each optimizer
of the book, the SHA-256 of every parameter's bytes after training.
"""

from __future__ import annotations

import hashlib
import json

import torch
from torch import nn

from lrlib.models import TwoBlockCNN


def digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def train(make_optimizer, steps: int = 12) -> str:
    torch.manual_seed(0)
    images = torch.rand(64, 3, 28, 28)
    labels = torch.randint(0, 3, (64,))
    model = TwoBlockCNN(n_filters=5, p=0.3)  # dropout: the random draws count too
    optimizer = make_optimizer(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        batch = slice((step % 4) * 16, (step % 4 + 1) * 16)
        optimizer.zero_grad()
        loss_fn(model(images[batch]), labels[batch]).backward()
        optimizer.step()
    return digest(model)


OPTIMIZERS = {
    "sgd_nesterov": lambda p: torch.optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4
    ),
    "adam_fused": lambda p: torch.optim.Adam(p, lr=3e-3, fused=True),
}

if __name__ == "__main__":
    print(json.dumps({name: train(make) for name, make in OPTIMIZERS.items()}))
