"""Tests for lrlib.data.preload on a tiny ImageFolder of generated PNG files."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset, TensorDataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from lrlib.data.preload import ImageDecodeError, Preloaded, _source_path

CLASSES = ["paper", "rock", "scissors"]


def _write_images(root: Path, size: tuple[int, int], per_class: int = 4) -> None:
    """Random PNGs in class folders; every other one is RGBA with a varying alpha."""
    rng = np.random.default_rng(0)
    width, height = size
    for label, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            if i % 2:
                pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
                Image.fromarray(pixels, "RGBA").save(folder / f"{name}{i}.png")
            else:
                pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
                pixels[..., label] //= 2  # a little class signal
                Image.fromarray(pixels, "RGB").save(folder / f"{name}{i}.png")


class CountingTransform:
    """Wraps a transform and counts its calls."""

    def __init__(self, transform):
        self.transform = transform
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        return self.transform(image)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _write_images(tmp_path / "rps", size=(40, 36))
    return tmp_path / "rps"


def _base_transform():
    return v2.Compose(
        [v2.Resize((28, 28)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    )


def test_cached_items_equal_the_base_dataset(root):
    base = ImageFolder(root, transform=_base_transform())
    cached = Preloaded(base)
    assert len(cached) == len(base) == 12
    assert (
        cached.images.shape == (12, 3, 28, 28) and cached.images.dtype == torch.float32
    )
    assert cached.targets.dtype == torch.int64
    for index in range(len(base)):
        image, label = base[index]
        cached_image, cached_label = cached[index]
        assert torch.equal(cached_image, image)
        assert cached_label == label and isinstance(cached_label, int)
    assert cached.classes == base.classes == CLASSES
    assert cached.class_to_idx == base.class_to_idx
    assert cached.targets.tolist() == base.targets


def test_rgba_pngs_become_rgb_pixels(root):
    # No resizing, no scaling: the cached tensor must be the PNG's own R, G, B bytes.
    base = ImageFolder(root, transform=v2.ToImage())
    cached = Preloaded(base)
    modes = []
    for index, (path, _) in enumerate(base.samples):
        with Image.open(path) as png:
            modes.append(png.mode)
            rgba = np.asarray(png.convert("RGBA"))
        expected = torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1)
        assert torch.equal(cached.images[index], expected)
    assert set(modes) == {"RGB", "RGBA"}
    assert cached.images.shape == (12, 3, 36, 40) and cached.images.dtype == torch.uint8


def test_batches_equal_the_base_loader(root):
    base = ImageFolder(root, transform=_base_transform())
    cached = Preloaded(base)
    for (x_base, y_base), (x_cached, y_cached) in zip(
        DataLoader(base, batch_size=5), DataLoader(cached, batch_size=5), strict=True
    ):
        assert torch.equal(x_base, x_cached) and torch.equal(y_base, y_cached)


def test_base_transform_runs_exactly_once_per_item(root):
    expensive = CountingTransform(_base_transform())
    cached = Preloaded(ImageFolder(root, transform=expensive))
    assert expensive.calls == 12
    normalized = cached.with_transform(v2.Normalize(mean=[0.5] * 3, std=[0.25] * 3))
    for _ in range(3):  # three "epochs"
        for dataset in (cached, normalized):
            for _ in DataLoader(dataset, batch_size=4, shuffle=True):
                pass
    assert expensive.calls == 12


def test_per_item_transform_runs_on_every_access(root):
    cheap = CountingTransform(lambda image: image.flip(-1))
    cached = Preloaded(ImageFolder(root, transform=_base_transform()), transform=cheap)
    image, _ = cached[3]
    assert torch.equal(image, cached.images[3].flip(-1))
    cached[3]
    assert cheap.calls == 2


def test_with_transform_shares_storage_and_leaves_original_alone(root):
    raw = Preloaded(ImageFolder(root, transform=_base_transform()))
    before = raw.images.clone()
    normalize = v2.Normalize(mean=[0.5, 0.4, 0.3], std=[0.2, 0.25, 0.3])
    normalized = raw.with_transform(normalize)
    assert normalized is not raw
    assert normalized.images.data_ptr() == raw.images.data_ptr()
    assert normalized.targets.data_ptr() == raw.targets.data_ptr()
    assert raw.transform is None and normalized.transform is normalize
    image, label = normalized[5]
    assert torch.equal(image, normalize(raw.images[5])) and label == raw[5][1]
    assert torch.equal(raw.images, before)  # the cache is never modified
    assert normalized.classes == raw.classes


def test_workers_give_the_same_cache(root):
    base = ImageFolder(root, transform=_base_transform())
    in_process = Preloaded(base)
    with_workers = Preloaded(base, num_workers=2)
    assert torch.equal(in_process.images, with_workers.images)
    assert torch.equal(in_process.targets, with_workers.targets)


def test_tensor_dataset_without_class_names():
    images = torch.rand(5, 1, 3, 3)
    cached = Preloaded(TensorDataset(images, torch.tensor([2, 0, 1, 1, 0])))
    assert torch.equal(cached.images, images) and cached.targets.tolist() == [
        2,
        0,
        1,
        1,
        0,
    ]
    assert cached[0][1] == 2 and isinstance(cached[0][1], int)
    with pytest.raises(AttributeError, match="no `classes`"):
        _ = cached.classes
    with pytest.raises(AttributeError, match="no `class_to_idx`"):
        _ = cached.class_to_idx
    assert "5 images of shape (1, 3, 3)" in repr(cached)


def test_bad_inputs(root):
    with pytest.raises(ValueError, match="empty"):
        Preloaded(TensorDataset(torch.zeros(0, 3, 2, 2), torch.zeros(0)))
    with pytest.raises(TypeError, match="image to be a tensor .* got Image"):
        Preloaded(ImageFolder(root))  # PIL images: no ToImage in the transform
    mismatch = (
        r"item \d+ has an image of shape \(3, 31, 28\), but item 0 has \(3, 28, 31\)"
    )
    with pytest.raises(ValueError, match=mismatch):
        # Resize(28) keeps the aspect ratio: 40x36 images become 31x28, but the
        # portrait one below becomes 28x31.
        _write_images(root.parent / "mixed", size=(40, 36), per_class=1)
        Image.new("RGB", (36, 40)).save(root.parent / "mixed" / "rock" / "tall.png")
        transform = v2.Compose(
            [v2.Resize(28), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
        )
        Preloaded(ImageFolder(root.parent / "mixed", transform=transform))
    with pytest.raises(TypeError, match="integer label"):
        Preloaded(TensorDataset(torch.zeros(2, 3, 2, 2), torch.tensor([0.5, 1.5])))
    with pytest.raises(TypeError, match=r"\(image, label\) pair"):
        Preloaded(TensorDataset(torch.zeros(2, 3, 2, 2)))
    with pytest.raises(TypeError, match="has no length|with a length"):
        Preloaded(iter([]))  # type: ignore[arg-type]
    cached = Preloaded(TensorDataset(torch.zeros(2, 3, 2, 2), torch.tensor([0, 1])))
    with pytest.raises(TypeError, match="callable or None, got str"):
        cached.with_transform("normalize")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="num_workers must be a non-negative int, got -1"
    ):
        Preloaded(
            TensorDataset(torch.zeros(2, 3, 2, 2), torch.tensor([0, 1])), num_workers=-1
        )


def _truncate(path: Path) -> None:
    """Keep the first half of an image file, as an interrupted copy would."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("num_workers", [0, 1])
def test_a_truncated_image_is_named_with_advice(root, num_workers):
    broken = root / "rock" / "rock2.png"
    _truncate(broken)
    dataset = ImageFolder(root, transform=_base_transform())
    index = [Path(p) for p, _ in dataset.samples].index(broken)
    with pytest.raises(OSError, match=re.escape(str(broken))) as caught:
        Preloaded(dataset, num_workers=num_workers)
    error = caught.value
    assert isinstance(error, ImageDecodeError) and isinstance(error, ValueError)
    assert (error.path, error.index) == (str(broken), index)
    message = str(error)
    assert f"(item {index}) cannot be decoded" in message
    assert "image file is truncated" in message  # Pillow's own words are kept
    assert "replace it or delete it" in message and "validate_image_folder" in message
    # Raised in this process, not re-raised from a worker's traceback text.
    assert "DataLoader worker" not in message


def test_a_decoding_error_in_a_subset_names_the_file(root):
    broken = root / "paper" / "paper1.png"
    _truncate(broken)
    dataset = ImageFolder(root, transform=_base_transform())
    index = [Path(p) for p, _ in dataset.samples].index(broken)
    with pytest.raises(ImageDecodeError, match=re.escape(str(broken))) as caught:
        Preloaded(Subset(dataset, [index - 1, index]))
    assert caught.value.index == 1  # the item of the subset


def test_a_decoding_error_without_a_file_names_the_item():
    class Unreadable(TensorDataset):
        def __getitem__(self, index):
            if index == 2:
                raise OSError("image file is truncated")
            return super().__getitem__(index)

    with pytest.raises(
        ImageDecodeError, match=r"the image of item 2 cannot be decoded: OSError"
    ):
        Preloaded(Unreadable(torch.zeros(4, 3, 2, 2), torch.tensor([0, 1, 2, 0])))


def test_other_errors_of_the_base_data_set_pass_through(root):
    def failing(image):
        raise RuntimeError("a bug in the transform")

    with pytest.raises(RuntimeError, match="a bug in the transform"):
        Preloaded(ImageFolder(root, transform=failing))


def test_decode_error_survives_pickling():
    error = pickle.loads(
        pickle.dumps(ImageDecodeError("broken", path=Path("a.png"), index=3))
    )
    assert (str(error), error.path, error.index) == ("broken", "a.png", 3)


def test_source_path():
    dataset = TensorDataset(torch.zeros(2, 1))
    assert _source_path(dataset, 0) is None
    dataset.samples = [("a.png", 0), ("b.png", 1)]  # what ImageFolder has
    assert _source_path(dataset, 1) == "b.png"
    assert _source_path(Subset(dataset, [1, 0]), 1) == "a.png"
