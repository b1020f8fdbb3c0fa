"""Tests of lrlib.data.classic: Fashion-MNIST and CIFAR-10 for the classic walk-through.

Every test writes its own tiny data set (12 training and 6 test images) in
the layout torchvision expects, so nothing real is read. No test touches the
network: downloads are served by a local HTTP server on 127.0.0.1 running in a
thread, torchvision's mirrors are patched in every download test, and an
autouse fixture makes any connection to another host fail the test.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import pickle
import socket
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import RandomSampler, SequentialSampler
from torchvision import datasets
from torchvision.transforms import v2

from lrlib.data.classic import CLASSIC_DATASETS, ClassicData, load_classic
from tests import _http
from tests._http import LocalServer

N_TRAIN, N_TEST = 12, 6

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]

_rng = np.random.default_rng(2024)
FASHION_TRAIN = _rng.integers(0, 256, size=(N_TRAIN, 28, 28), dtype=np.uint8)
FASHION_TEST = _rng.integers(0, 256, size=(N_TEST, 28, 28), dtype=np.uint8)
# CIFAR's rows are channel-major (all red, then all green, then all blue): N x 3072.
# Give each channel its own range so that a mixed-up channel order shows.
CIFAR_TRAIN = np.concatenate(
    [
        _rng.integers(lo, hi, size=(N_TRAIN, 1024), dtype=np.uint8)
        for lo, hi in ((0, 100), (50, 200), (100, 256))
    ],
    axis=1,
)
CIFAR_TEST = _rng.integers(0, 256, size=(N_TEST, 3072), dtype=np.uint8)
TRAIN_LABELS = [i % 10 for i in range(N_TRAIN)]
TEST_LABELS = [(3 * i) % 10 for i in range(N_TEST)]


# -- writing the data sets -----------------------------------------------------------


def _idx(array: np.ndarray) -> bytes:
    """The idx format of the MNIST files:
    magic 0x0000 08 <ndim>, big-endian dims, uint8 data.
    """
    magic = (
        0x0800 | array.ndim
    )  # 0x08: unsigned byte; 0x803 for images, 0x801 for labels
    return (
        struct.pack(f">I{array.ndim}I", magic, *array.shape)
        + array.astype(np.uint8).tobytes()
    )


def _fashion_files() -> dict[str, bytes]:
    return {
        "train-images-idx3-ubyte": _idx(FASHION_TRAIN),
        "train-labels-idx1-ubyte": _idx(np.array(TRAIN_LABELS, dtype=np.uint8)),
        "t10k-images-idx3-ubyte": _idx(FASHION_TEST),
        "t10k-labels-idx1-ubyte": _idx(np.array(TEST_LABELS, dtype=np.uint8)),
    }


def _fashion_gz_files() -> dict[str, bytes]:
    # mtime=0: the same bytes (hence the same md5) on every run.
    return {
        f"{name}.gz": gzip.compress(payload, mtime=0)
        for name, payload in _fashion_files().items()
    }


def _write_fashion(root: Path) -> Path:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, payload in _fashion_files().items():
        (raw / name).write_bytes(payload)
    return root


def _pickle(obj: dict) -> bytes:
    # torchvision unpickles with encoding="latin1" and reads *str* keys ("data",
    # "labels", "label_names"): the original Python 2 pickles have str keys, and
    # bytes keys written by Python 3 would stay bytes (KeyError).
    return pickle.dumps(obj, protocol=2)


def _cifar_files() -> dict[str, bytes]:
    files = {}
    for k, rows in enumerate(np.array_split(np.arange(N_TRAIN), 5), start=1):
        labels = [TRAIN_LABELS[i] for i in rows]
        files[f"data_batch_{k}"] = _pickle(
            {
                "batch_label": f"training batch {k} of 5",
                "data": CIFAR_TRAIN[rows],
                "labels": labels,
            }
        )
    files["test_batch"] = _pickle(
        {
            "batch_label": "testing batch 1 of 1",
            "data": CIFAR_TEST,
            "labels": TEST_LABELS,
        }
    )
    files["batches.meta"] = _pickle(
        {"label_names": CIFAR_CLASSES, "num_cases_per_batch": 10000, "num_vis": 3072}
    )
    return files


def _md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


def _channel_stats(images_nchw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std per channel, computed the plain way, in float64."""
    scaled = images_nchw.astype(np.float64) / 255.0
    return scaled.mean(axis=(0, 2, 3)), scaled.std(axis=(0, 2, 3), ddof=0)


def _all_images(loader) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*loader)
    return torch.cat([torch.as_tensor(x) for x in images]), torch.cat(labels)


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Fail the test if anything tries to connect anywhere but this machine."""
    real_create_connection = socket.create_connection

    def loopback_only(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"a test tried to reach {address!r}")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)


@pytest.fixture
def fashion_root(tmp_path) -> Path:
    return _write_fashion(tmp_path / "data")


@pytest.fixture
def fashion(fashion_root) -> ClassicData:
    return load_classic("fashion-mnist", fashion_root)


@pytest.fixture
def cifar_root(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    files = _cifar_files()
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    # torchvision checks the md5 of every batch file (in CIFAR10._check_integrity)
    # and of batches.meta (in CIFAR10._load_meta) against those of the real data
    # set. Point those checks at the md5 of the files written here, rather than
    # switching them off: the checks still run, on our files.
    train_list = [
        [f"data_batch_{k}", _md5(files[f"data_batch_{k}"])] for k in range(1, 6)
    ]
    meta = {
        "filename": "batches.meta",
        "key": "label_names",
        "md5": _md5(files["batches.meta"]),
    }
    monkeypatch.setattr(datasets.CIFAR10, "train_list", train_list)
    monkeypatch.setattr(
        datasets.CIFAR10, "test_list", [["test_batch", _md5(files["test_batch"])]]
    )
    monkeypatch.setattr(datasets.CIFAR10, "meta", meta)
    return tmp_path / "data"


class _Server(LocalServer):
    """A local HTTP server answering GET requests from a dict of canned files."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                owner.requests.append(self.path)
                payload = owner.files.get(self.path)
                if payload is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        super().__init__(Handler)


@pytest.fixture
def fashion_server():
    srv = _Server(
        {f"/fashion/{name}": payload for name, payload in _fashion_gz_files().items()}
    )
    with srv:
        yield srv


def _patch_fashion_download(monkeypatch, mirror: str, md5s: dict[str, str]) -> None:
    """Point FashionMNIST's download at ``mirror``,
    expecting these md5s (never the real site).
    """
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [mirror])
    monkeypatch.setattr(
        datasets.FashionMNIST,
        "resources",
        [(name, md5s[name]) for name in _fashion_gz_files()],
    )


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    return _http.closed_port_url("/fashion/")


# -- Fashion-MNIST on disk -----------------------------------------------------------


def test_registry_names_the_two_torchvision_classes():
    assert CLASSIC_DATASETS == {
        "fashion-mnist": datasets.FashionMNIST,
        "cifar10": datasets.CIFAR10,
    }


def test_fashion_mnist_from_disk_shapes_and_classes(fashion):
    assert fashion.name == "fashion-mnist"
    assert isinstance(fashion.train, datasets.FashionMNIST) and isinstance(
        fashion.test, datasets.FashionMNIST
    )
    assert (len(fashion.train), len(fashion.test)) == (N_TRAIN, N_TEST)
    assert fashion.classes == FASHION_CLASSES
    assert fashion.image_shape == (1, 28, 28)
    assert isinstance(fashion.normalizer, v2.Normalize)
    image, label = fashion.train[0]
    assert tuple(image.shape) == fashion.image_shape and image.dtype == torch.float32
    assert label == TRAIN_LABELS[0]
    np.testing.assert_array_equal(fashion.train.data.numpy(), FASHION_TRAIN)
    np.testing.assert_array_equal(fashion.test.targets.numpy(), TEST_LABELS)


def test_fashion_mnist_normalizer_is_learned_on_training_images(fashion):
    mean, std = _channel_stats(FASHION_TRAIN[:, None])
    assert fashion.normalizer.mean == pytest.approx(mean.tolist(), rel=1e-12)
    assert fashion.normalizer.std == pytest.approx(std.tolist(), rel=1e-12)
    test_mean, _ = _channel_stats(FASHION_TEST[:, None])
    assert fashion.normalizer.mean != pytest.approx(
        test_mean.tolist(), rel=1e-6
    )  # not the test statistics


def test_fashion_mnist_both_splits_are_standardized_with_training_statistics(fashion):
    train_loader, test_loader = fashion.loaders(
        5, generator=torch.Generator().manual_seed(0)
    )
    train_images, _ = _all_images(train_loader)
    assert train_images.shape == (N_TRAIN, 1, 28, 28)
    assert train_images.double().mean().item() == pytest.approx(0.0, abs=1e-5)
    assert train_images.double().std(unbiased=False).item() == pytest.approx(
        1.0, abs=1e-5
    )

    mean, std = _channel_stats(FASHION_TRAIN[:, None])
    expected_test = (FASHION_TEST[:, None].astype(np.float64) / 255.0 - mean[0]) / std[
        0
    ]
    test_images, test_labels = _all_images(test_loader)
    np.testing.assert_allclose(test_images.numpy(), expected_test, atol=1e-5)
    assert (
        test_labels.tolist() == TEST_LABELS
    )  # in order: the test loader does not shuffle


def test_loaders_shuffle_only_training_and_repeat_with_the_same_seed(fashion):
    train_loader, test_loader = fashion.loaders(
        4, generator=torch.Generator().manual_seed(7)
    )
    assert isinstance(train_loader.sampler, RandomSampler)
    assert isinstance(test_loader.sampler, SequentialSampler)
    assert train_loader.batch_size == test_loader.batch_size == 4

    def order(seed: int) -> list[int]:
        loader, _ = fashion.loaders(4, generator=torch.Generator().manual_seed(seed))
        return list(iter(loader.sampler))

    assert order(7) == order(7)
    assert sorted(order(7)) == list(range(N_TRAIN))
    assert order(7) != list(range(N_TRAIN))
    first, _ = _all_images(
        fashion.loaders(4, generator=torch.Generator().manual_seed(7))[0]
    )
    again, _ = _all_images(
        fashion.loaders(4, generator=torch.Generator().manual_seed(7))[0]
    )
    assert torch.equal(first, again)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8", None])
def test_loaders_reject_a_bad_batch_size(fashion, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        fashion.loaders(batch_size)


# -- CIFAR-10 on disk ----------------------------------------------------------------


def test_cifar10_from_disk(cifar_root):
    data = load_classic("cifar10", cifar_root)
    assert isinstance(data.train, datasets.CIFAR10)
    assert (len(data.train), len(data.test)) == (N_TRAIN, N_TEST)
    assert data.image_shape == (3, 32, 32)
    assert data.classes == CIFAR_CLASSES
    mean, std = _channel_stats(CIFAR_TRAIN.reshape(-1, 3, 32, 32))
    assert data.normalizer.mean == pytest.approx(mean.tolist(), rel=1e-12)
    assert data.normalizer.std == pytest.approx(std.tolist(), rel=1e-12)
    assert (
        data.normalizer.mean[0] < data.normalizer.mean[1] < data.normalizer.mean[2]
    )  # channel order kept

    train_images, train_labels = _all_images(data.loaders(5)[0])
    assert train_images.shape == (N_TRAIN, 3, 32, 32)
    assert sorted(train_labels.tolist()) == sorted(TRAIN_LABELS)
    per_channel = train_images.double().transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(per_channel.mean(dim=1).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(
        per_channel.std(dim=1, unbiased=False).numpy(), 1.0, atol=1e-5
    )

    test_images, _ = _all_images(data.loaders(5)[1])
    expected = (CIFAR_TEST.reshape(-1, 3, 32, 32) / 255.0 - mean[:, None, None]) / std[
        :, None, None
    ]
    np.testing.assert_allclose(test_images.numpy(), expected, atol=1e-5)


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CLASSIC_DATASETS))
def test_missing_data_set_without_download_says_how_to_fix_it(tmp_path, name):
    with pytest.raises(FileNotFoundError, match="download=True") as caught:
        load_classic(name, tmp_path / "empty")
    message = str(caught.value)
    assert repr(name) in message and str(tmp_path / "empty") in message
    assert "book's own data" in message
    assert isinstance(
        caught.value.__cause__, RuntimeError
    )  # torchvision's "Dataset not found"


def test_unknown_name_lists_the_valid_names(tmp_path):
    with pytest.raises(ValueError, match="mnist") as caught:
        load_classic("mnist", tmp_path)
    assert "['cifar10', 'fashion-mnist']" in str(caught.value)


# -- downloading ---------------------------------------------------------------------


def test_download_from_a_local_server_gives_the_same_data(
    tmp_path, fashion_server, fashion, monkeypatch
):
    md5s = {name: _md5(payload) for name, payload in _fashion_gz_files().items()}
    _patch_fashion_download(monkeypatch, fashion_server.url("/fashion/"), md5s)
    with pytest.raises(FileNotFoundError):
        load_classic(
            "fashion-mnist", tmp_path / "download"
        )  # not there yet, and not asked to download

    data = load_classic("fashion-mnist", tmp_path / "download", download=True)
    assert {f"/fashion/{name}" for name in md5s} <= set(fashion_server.requests)
    assert data.image_shape == fashion.image_shape and data.classes == fashion.classes
    assert (
        data.normalizer.mean == fashion.normalizer.mean
        and data.normalizer.std == fashion.normalizer.std
    )
    for split in ("train", "test"):
        downloaded, on_disk = getattr(data, split), getattr(fashion, split)
        assert torch.equal(downloaded.data, on_disk.data) and torch.equal(
            downloaded.targets, on_disk.targets
        )
        assert torch.equal(
            torch.as_tensor(downloaded[3][0]), torch.as_tensor(on_disk[3][0])
        )

    served = len(fashion_server.requests)
    load_classic(
        "fashion-mnist", tmp_path / "download", download=True
    )  # already there: no new request
    assert len(fashion_server.requests) == served


def test_download_with_no_server_raises_a_clear_error(
    tmp_path, closed_port_url, monkeypatch
):
    md5s = {name: _md5(payload) for name, payload in _fashion_gz_files().items()}
    _patch_fashion_download(monkeypatch, closed_port_url, md5s)
    with pytest.raises(
        FileNotFoundError, match="'fashion-mnist'.*could not be downloaded"
    ) as caught:
        load_classic("fashion-mnist", tmp_path / "data", download=True)
    assert caught.value.__cause__ is not None


def test_download_with_a_wrong_checksum_raises_a_clear_error(
    tmp_path, fashion_server, monkeypatch
):
    wrong = dict.fromkeys(_fashion_gz_files(), "0" * 32)
    _patch_fashion_download(monkeypatch, fashion_server.url("/fashion/"), wrong)
    with pytest.raises(
        FileNotFoundError, match="'fashion-mnist'.*could not be downloaded"
    ) as caught:
        load_classic("fashion-mnist", tmp_path / "data", download=True)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert (
        fashion_server.requests
    )  # it did reach the server: the bytes were refused, not missing
