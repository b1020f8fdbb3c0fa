from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import RandomSampler, SequentialSampler
from torchvision.datasets import ImageFolder

from lrlib.data import _cache, pipeline
from lrlib.data._cache import CACHE_FOLDER
from lrlib.data.pipeline import _base_transform, load_rps_data
from lrlib.data.preload import ImageDecodeError, Preloaded
from lrlib.data.rps import RPSFolders

CLASSES = ("paper", "rock", "scissors")


def make_split(folder: Path, per_class: int, shift: int, classes=CLASSES) -> None:
    rng = np.random.default_rng(shift)
    for c, name in enumerate(classes):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            rgb = rng.integers(0, 256, size=(30, 30, 3), dtype=np.uint8)
            rgba = np.dstack([rgb, np.full((30, 30), 255, np.uint8)])
            Image.fromarray(rgba, "RGBA").save(
                folder / name / f"{name}{c:02d}-{i:03d}.png"
            )


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
    torch.testing.assert_close(
        train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        train.std(dim=(0, 2, 3), correction=0), torch.ones(3), atol=1e-5, rtol=0
    )

    # validation images use the training mean and std, not their own
    raw_val = torch.stack(
        [
            _base_transform(8)(Image.open(p).convert("RGB"))
            for p in sorted((real_root / "rps-test-set").rglob("*.png"))
        ]
    )
    mean = torch.tensor(data.normalizer.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.normalizer.std).view(1, 3, 1, 1)
    val = torch.stack([data.val[i][0] for i in range(len(data.val))])
    torch.testing.assert_close(val, (raw_val - mean) / std, atol=1e-5, rtol=0)


def test_loaders_shuffle_only_the_training_split(real_root):
    data = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    train_loader, val_loader = data.loaders(
        4, generator=torch.Generator().manual_seed(0)
    )
    assert isinstance(train_loader.sampler, RandomSampler)
    assert isinstance(val_loader.sampler, SequentialSampler)
    assert train_loader.batch_size == val_loader.batch_size == 4


def test_train_transform_applies_to_training_only(real_root):
    data = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    train_loader, val_loader = data.loaders(
        12, train_transform=lambda x: torch.zeros_like(x)
    )
    images, _ = next(iter(train_loader))
    assert torch.count_nonzero(images) == 0
    val_images, _ = next(iter(val_loader))
    assert torch.count_nonzero(val_images) > 0


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_batch_size(real_root, bad):
    data = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    with pytest.raises(ValueError, match="^batch_size must be a positive int, got "):
        data.loaders(bad)


def test_splits_with_different_classes_are_refused(tmp_path):
    make_split(tmp_path / "rps", per_class=2, shift=1)
    make_split(
        tmp_path / "rps-test-set",
        per_class=2,
        shift=2,
        classes=("paper", "rock", "lizard"),
    )
    with pytest.raises(ValueError, match="lizard"):
        load_rps_data(size=8, source="real", root=tmp_path, num_workers=0)


def test_bad_size():
    with pytest.raises(ValueError, match="size must be a positive"):
        _base_transform(0)


def test_images_of_any_shape_become_square():
    # Resize((size, size)), not Resize(size), which would resize the shorter edge
    wide = Image.fromarray(np.zeros((30, 45, 3), np.uint8))
    tall = Image.fromarray(np.zeros((45, 30, 3), np.uint8))
    assert _base_transform(8)(wide).shape == (3, 8, 8)
    assert _base_transform(8)(tall).shape == (3, 8, 8)


def _all(split):
    return torch.stack([split[i][0] for i in range(len(split))]), split.targets


def test_second_load_reads_the_cache_and_gives_the_same_tensors(real_root, monkeypatch):
    first = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    cached = list((real_root / CACHE_FOLDER).glob("decoded-8px-*.pt"))
    assert len(cached) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache is valid")

    monkeypatch.setattr(pipeline.Preloaded, "__init__", no_decoding)
    second = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    for a, b in ((first.train, second.train), (first.val, second.val)):
        images_a, targets_a = _all(a)
        images_b, targets_b = _all(b)
        assert torch.equal(images_a, images_b) and torch.equal(targets_a, targets_b)
    assert second.train.classes == list(CLASSES)
    assert second.normalizer.mean == first.normalizer.mean


def test_a_changed_image_or_size_gets_a_new_cache_file(real_root):
    load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    victim = sorted((real_root / "rps" / "rock").glob("*.png"))[0]
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(victim)
    changed = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    load_rps_data(size=6, source="real", root=real_root, num_workers=0)
    assert len(list((real_root / CACHE_FOLDER).glob("*.pt"))) == 3
    label = CLASSES.index("rock")
    samples = ImageFolder(real_root / "rps").samples
    index = [i for i, (path, _) in enumerate(samples) if path == str(victim)][0]
    assert changed.train.targets[index] == label
    assert (
        torch.count_nonzero(changed.train.images[index]) == 0
    )  # the new, black picture


def test_an_unreadable_cache_is_ignored(real_root):
    reference = load_rps_data(
        size=8, source="real", root=real_root, num_workers=0, cache=False
    )
    assert not (real_root / CACHE_FOLDER).exists()  # cache=False writes nothing
    load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    (cache_file,) = (real_root / CACHE_FOLDER).glob("*.pt")
    cache_file.write_bytes(b"not a torch file")
    with pytest.warns(RuntimeWarning, match="cannot be read"):
        again = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    assert torch.equal(_all(again.train)[0], _all(reference.train)[0])
    assert (
        torch.load(cache_file, weights_only=True)["format"] == _cache.CACHE_FORMAT
    )  # rewritten


def _flip_one_byte_inside(path: Path, tensor: torch.Tensor) -> None:
    """Flip one byte of ``tensor``'s data where ``torch.save`` stored it in ``path``."""
    raw = path.read_bytes()
    data = tensor.contiguous().view(torch.uint8).numpy().tobytes()
    start = raw.find(data[:4096])
    assert start >= 0, "the tensor's bytes are not stored as they are"
    at = start + 1000
    path.write_bytes(raw[:at] + bytes([raw[at] ^ 0x10]) + raw[at + 1 :])


def test_a_flipped_byte_in_the_cache_is_caught_and_the_images_decoded_again(
    real_root, monkeypatch
):
    first = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    (cache_file,) = (real_root / CACHE_FOLDER).glob("*.pt")
    _flip_one_byte_inside(cache_file, first.train.images)
    # Without the checksum, the damaged file still loads: other pixels, no error.
    damaged = torch.load(cache_file, weights_only=True)
    assert not torch.equal(damaged["train_images"], first.train.images)
    decoded = []
    original_init = pipeline.Preloaded.__init__

    def counting_init(self, *args, **kwargs):
        decoded.append(1)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(pipeline.Preloaded, "__init__", counting_init)
    with pytest.warns(RuntimeWarning, match="do not match the SHA-256"):
        again = load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    assert len(decoded) == 2  # both splits decoded afresh
    assert torch.equal(again.train.images, first.train.images)
    rewritten = torch.load(cache_file, weights_only=True)
    assert torch.equal(rewritten["train_images"], first.train.images)
    monkeypatch.setattr(pipeline.Preloaded, "__init__", original_init)
    decoded.clear()
    load_rps_data(size=8, source="real", root=real_root, num_workers=0)  # no warning
    assert decoded == []


def test_from_tensors_validates():
    with pytest.raises(ValueError, match="targets"):
        Preloaded.from_tensors(
            torch.zeros(3, 1, 2, 2), torch.zeros(2, dtype=torch.int64)
        )
    with pytest.raises(TypeError, match="integer labels"):
        Preloaded.from_tensors(torch.zeros(3, 1, 2, 2), torch.zeros(3))
    with pytest.raises(TypeError, match="must be tensors"):
        Preloaded.from_tensors([[0.0]], torch.zeros(1, dtype=torch.int64))


def test_a_truncated_image_names_the_file_and_the_folder_to_delete(real_root):
    broken = real_root / "rps-test-set" / "scissors" / "scissors02-001.png"
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError) as caught:
        load_rps_data(size=8, source="real", root=real_root, num_workers=0)
    message = str(caught.value)
    assert caught.value.path == str(broken)
    assert f"image file {broken} " in message and "image file is truncated" in message
    assert f"delete {real_root / 'rps-test-set'} and run again" in message
    assert "downloads that split again" in message
    assert not (real_root / CACHE_FOLDER).exists()  # nothing half-decoded was cached


def test_a_truncated_stand_in_image_says_to_redraw_the_stand_in(tmp_path, monkeypatch):
    folders = RPSFolders(
        tmp_path / "rps-synthetic" / "rps",
        tmp_path / "rps-synthetic" / "rps-test-set",
        "synthetic",
        "a test asks for it",
    )
    make_split(folders.train, per_class=2, shift=1)
    make_split(folders.test, per_class=1, shift=2)
    broken = folders.train / "rock" / "rock01-000.png"
    broken.write_bytes(broken.read_bytes()[:80])
    monkeypatch.setattr(pipeline, "get_rps", lambda source, root: folders)
    with pytest.raises(ImageDecodeError, match=re.escape(str(broken))) as caught:
        load_rps_data(size=8, num_workers=0, cache=False)
    assert f"delete {tmp_path / 'rps-synthetic'} and run again" in str(caught.value)
    assert "draws the stand-in again" in str(caught.value)
