from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import RandomSampler, SequentialSampler

from lrlib.pipeline import base_transform, load_rps_data

CLASSES = ("paper", "rock", "scissors")


def make_split(folder: Path, per_class: int, shift: int, classes=CLASSES) -> None:
    rng = np.random.default_rng(shift)
    for c, name in enumerate(classes):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            rgb = rng.integers(0, 256, size=(30, 30, 3), dtype=np.uint8)
            rgba = np.dstack([rgb, np.full((30, 30), 255, np.uint8)])
            Image.fromarray(rgba, "RGBA").save(folder / name / f"{name}{c:02d}-{i:03d}.png")


@pytest.fixture
def real_root(tmp_path: Path) -> Path:
    make_split(tmp_path / "rps", per_class=4, shift=1)
    make_split(tmp_path / "rps-test-set", per_class=2, shift=2)
    return tmp_path


def test_standardizes_both_splits_with_training_statistics(real_root):
    data = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    assert data.folders.source == "real"
    assert data.classes == list(CLASSES)
    assert len(data.train) == 12 and len(data.val) == 6

    train = torch.stack([data.train[i][0] for i in range(len(data.train))])
    assert train.shape == (12, 3, 8, 8)
    torch.testing.assert_close(train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(train.std(dim=(0, 2, 3), correction=0), torch.ones(3), atol=1e-5, rtol=0)

    # validation images use the training mean and std, not their own
    raw_val = torch.stack([base_transform(8)(Image.open(p).convert("RGB")) for p in
                           sorted((real_root / "rps-test-set").rglob("*.png"))])
    mean = torch.tensor(data.normalizer.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.normalizer.std).view(1, 3, 1, 1)
    val = torch.stack([data.val[i][0] for i in range(len(data.val))])
    torch.testing.assert_close(val, (raw_val - mean) / std, atol=1e-5, rtol=0)


def test_loaders_shuffle_only_the_training_split(real_root):
    data = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    train_loader, val_loader = data.loaders(4, generator=torch.Generator().manual_seed(0))
    assert isinstance(train_loader.sampler, RandomSampler)
    assert isinstance(val_loader.sampler, SequentialSampler)
    assert train_loader.batch_size == val_loader.batch_size == 4


def test_train_transform_applies_to_training_only(real_root):
    data = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    train_loader, val_loader = data.loaders(12, train_transform=lambda x: torch.zeros_like(x))
    images, _ = next(iter(train_loader))
    assert torch.count_nonzero(images) == 0
    val_images, _ = next(iter(val_loader))
    assert torch.count_nonzero(val_images) > 0


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_batch_size(real_root, bad):
    data = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        data.loaders(bad)


def test_splits_with_different_classes_are_refused(tmp_path):
    make_split(tmp_path / "rps", per_class=2, shift=1)
    make_split(tmp_path / "rps-test-set", per_class=2, shift=2, classes=("paper", "rock", "lizard"))
    with pytest.raises(ValueError, match="lizard"):
        load_rps_data(size=8, source="real", root=tmp_path, num_workers=0)


def test_bad_size():
    with pytest.raises(ValueError, match="size must be a positive"):
        base_transform(0)
