"""Tests of lrlib.data.rps:
validating, downloading and choosing the Rock-Paper-Scissors data.

No test touches the network: downloads are served by a local HTTP server on
127.0.0.1, running in a thread for the duration of one test. The stand-in is
drawn with one picture per series to keep the tests fast.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import socket
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lrlib.data import _download, rps
from lrlib.data import _standin as handpose
from lrlib.data._download import (
    CLASSES,
    DownloadError,
    RemoteArchive,
    download_archive,
    unreachable_reason,
    validate_image_folder,
)
from lrlib.data.preload import ImageDecodeError
from lrlib.data.rps import (
    DATA_DIR_ENV,
    DATA_SOURCE_ENV,
    RPSFolders,
    _default_data_dir,
    get_rps,
)
from tests import _http
from tests._http import LocalServer

# -- helpers ------------------------------------------------------------------------


def _png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (value, 255 - value, 128, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def _make_folder(root: Path, per_class: int = 2) -> Path:
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            (root / name / f"{name}{i:02d}.png").write_bytes(_png(40 * k + i))
    return root


def _zip(folder: str, per_class: int = 2, classes: tuple[str, ...] = CLASSES) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for k, name in enumerate(classes):
            for i in range(per_class):
                bundle.writestr(f"{folder}/{name}/{name}{i:02d}.png", _png(40 * k + i))
    return buffer.getvalue()


def _archive(
    server, path: str, payload: bytes, folder: str, **override
) -> RemoteArchive:
    fields = dict(
        url=server.url(path),
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        folder=folder,
        images=3 * 2,
    )
    fields.update(override)
    return RemoteArchive(**fields)


class _Server(LocalServer):
    """A local HTTP server with canned answers, counting the requests it gets.

    ``routes`` maps a path to ``(payload, truncate)``: when ``truncate`` is
    True, the server announces the full length, sends half the bytes and
    closes the connection.
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, bool]] = {}
        self.requests: list[str] = []  # GET requests (downloads)
        self.heads: list[str] = []  # HEAD requests (reachability probes)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                owner.requests.append(self.path)
                if self.path not in owner.routes:
                    self.send_error(404)
                    return
                payload, truncate = owner.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2] if truncate else payload)
                self.wfile.flush()
                if truncate:
                    self.close_connection = True

            def do_HEAD(self) -> None:  # noqa: N802
                owner.heads.append(self.path)
                if self.path not in owner.routes:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.routes[self.path][0])))
                self.end_headers()

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        super().__init__(Handler)


@pytest.fixture
def server():
    srv = _Server()
    with srv:
        yield srv


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    return _http.closed_port_url("/rps.zip")


@pytest.fixture
def small_stand_in(monkeypatch):
    """Make get_rps draw the stand-in with one picture per series (33 files)."""
    monkeypatch.setattr(
        handpose,
        "ensure_handpose",
        functools.partial(handpose.ensure_handpose, images_per_hand=1, processes=1),
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv(DATA_SOURCE_ENV, raising=False)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


# -- the published archives ----------------------------------------------------------


def test_published_archives_are_described_consistently():
    assert _download.TRAIN_ARCHIVE.url.endswith("/rps.zip")
    assert _download.TEST_ARCHIVE.url.endswith("/rps-test-set.zip")
    assert (_download.TRAIN_ARCHIVE.images, _download.TEST_ARCHIVE.images) == (
        2520,
        372,
    )
    for archive in _download.ARCHIVES:
        assert len(archive.sha256) == 64 and int(archive.sha256, 16) >= 0
        assert archive.size > 1_000_000
    assert "CC BY 2.0" in rps.RPS_CREDIT and "Laurence Moroney" in rps.RPS_CREDIT


# -- validate_image_folder -------------------------------------------------------------


def test_valid_folder_counts_images(tmp_path):
    root = _make_folder(tmp_path / "rps", per_class=3)
    (root / "rock" / "notes.txt").write_text("not an image")
    assert validate_image_folder(root) == {"paper": 3, "rock": 3, "scissors": 3}
    assert validate_image_folder(root, check_images=True) == {
        "paper": 3,
        "rock": 3,
        "scissors": 3,
    }


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        validate_image_folder(tmp_path / "nowhere")


def test_root_is_a_file(tmp_path):
    (tmp_path / "rps").write_text("")
    with pytest.raises(NotADirectoryError, match="rps"):
        validate_image_folder(tmp_path / "rps")


def test_missing_class_folder(tmp_path):
    root = _make_folder(tmp_path / "rps")
    for image in (root / "rock").iterdir():
        image.unlink()
    (root / "rock").rmdir()
    with pytest.raises(FileNotFoundError, match=r"class folder .*rock is missing"):
        validate_image_folder(root)


def test_empty_class_folder(tmp_path):
    root = _make_folder(tmp_path / "rps")
    for image in (root / "paper").iterdir():
        image.unlink()
    with pytest.raises(ValueError, match=r"class folder .*paper holds no images"):
        validate_image_folder(root)


def test_unexpected_class_folder(tmp_path):
    root = _make_folder(tmp_path / "rps")
    (root / "lizard").mkdir()
    with pytest.raises(ValueError, match="unexpected sub-folders \\['lizard'\\]"):
        validate_image_folder(root)


def test_corrupt_image_is_found_only_when_decoding(tmp_path):
    root = _make_folder(tmp_path / "rps")
    broken = root / "scissors" / "scissors01.png"
    broken.write_bytes(broken.read_bytes()[:30])  # a truncated PNG
    assert validate_image_folder(root)["scissors"] == 2
    with pytest.raises(ValueError, match=r"image .*scissors01\.png cannot be decoded"):
        validate_image_folder(root, check_images=True)


def test_truncated_image_is_named_with_what_to_do(tmp_path):
    root = _make_folder(tmp_path / "rps")
    broken = root / "rock" / "rock01.png"
    broken.write_bytes(
        broken.read_bytes()[:45]
    )  # signature and header (33 bytes) whole, pixels cut short
    with pytest.raises(ImageDecodeError) as caught:
        validate_image_folder(root, check_images=True)
    message = str(caught.value)
    assert caught.value.path == str(broken) and isinstance(caught.value, ValueError)
    assert message.startswith(
        f"image {broken} cannot be decoded: OSError: image file is truncated"
    )
    assert (
        "replace or delete it" in message and f"delete {root} and get_rps()" in message
    )


# -- where the data lives ------------------------------------------------------------


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _default_data_dir() == tmp_path / "home" / ".cache" / "lrbook"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _default_data_dir() == tmp_path / "xdg" / "lrbook"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "mine"))
    assert _default_data_dir() == tmp_path / "mine"


@pytest.mark.parametrize("source", ["synthetic", "real", "auto"])
def test_data_dir_variable_naming_a_file_is_a_clear_error(
    monkeypatch, tmp_path, source, closed_port_url
):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("not a folder")
    monkeypatch.setenv(DATA_DIR_ENV, str(not_a_folder))
    offline = (
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps", 6),
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps-test-set", 6),
    )
    with pytest.raises(NotADirectoryError) as caught:
        get_rps(source, archives=offline)
    message = str(caught.value)
    assert message.startswith(
        f"{DATA_DIR_ENV}={str(not_a_folder)!r}: "
        f"the data folder {not_a_folder} is a file"
    )
    assert f"set {DATA_DIR_ENV} to a folder" in message and "unset it" in message
    assert not_a_folder.read_text() == "not a folder"  # untouched


def test_data_dir_below_a_file_is_a_clear_error(monkeypatch, tmp_path):
    (tmp_path / "notes.txt").write_text("")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "notes.txt" / "data"))
    with pytest.raises(
        NotADirectoryError,
        match=f"{DATA_DIR_ENV}=.*cannot be created: .*notes.txt is a file",
    ):
        get_rps("synthetic")


def test_root_argument_naming_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(
        NotADirectoryError,
        match=r"root='.*notes.txt': the data folder .* is a file.*pass a folder",
    ):
        get_rps("synthetic", tmp_path / "notes.txt")


# -- download_archive ------------------------------------------------------------------


def _left_in(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_download_success(server, tmp_path):
    payload = _zip("rps", per_class=2)
    server.routes["/rps.zip"] = (payload, False)
    archive = _archive(server, "/rps.zip", payload, "rps")
    folder = download_archive(archive, tmp_path / "data")
    assert folder == tmp_path / "data" / "rps"
    assert validate_image_folder(folder, check_images=True) == {
        "paper": 2,
        "rock": 2,
        "scissors": 2,
    }
    assert (folder / "rock" / "rock01.png").read_bytes() == _png(40 * 1 + 1)
    assert _left_in(tmp_path / "data") == [
        ".rps.lock",
        "rps",
    ]  # the (released) lock, no temporary files
    assert server.requests == ["/rps.zip"]


def test_concurrent_downloads_take_turns_and_fetch_once(server, tmp_path):
    payload = _zip("rps")
    server.routes["/rps.zip"] = (payload, False)
    archive = _archive(server, "/rps.zip", payload, "rps")
    with ThreadPoolExecutor(max_workers=3) as pool:
        folders = list(
            pool.map(lambda _: download_archive(archive, tmp_path), range(3))
        )
    assert folders == [tmp_path / "rps"] * 3
    assert server.requests == [
        "/rps.zip"
    ]  # one downloaded; the others waited and reused it
    assert _left_in(tmp_path) == [".rps.lock", "rps"]


def test_existing_folder_is_reused_without_a_request(server, tmp_path):
    payload = _zip("rps")
    server.routes["/rps.zip"] = (payload, False)
    archive = _archive(server, "/rps.zip", payload, "rps")
    download_archive(archive, tmp_path)
    download_archive(archive, tmp_path)
    assert server.requests == ["/rps.zip"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    payload = _zip("rps")
    server.routes["/rps.zip"] = (payload, False)
    archive = _archive(server, "/rps.zip", payload, "rps", sha256="0" * 64)
    with pytest.raises(
        DownloadError, match="checksum mismatch .* expected SHA-256 0000"
    ):
        download_archive(archive, tmp_path / "data")
    assert _left_in(tmp_path / "data") == [".rps.lock"]


def test_interrupted_transfer_leaves_nothing(server, tmp_path):
    payload = _zip("rps", per_class=20)
    server.routes["/rps.zip"] = (payload, True)
    archive = _archive(server, "/rps.zip", payload, "rps")
    with pytest.raises(DownloadError, match="rps.zip"):
        download_archive(archive, tmp_path / "data", timeout=5)
    assert _left_in(tmp_path / "data") == [".rps.lock"]


def test_wrong_size_is_rejected(server, tmp_path):
    payload = _zip("rps")
    server.routes["/rps.zip"] = (payload, False)
    archive = _archive(server, "/rps.zip", payload, "rps", size=len(payload) + 1)
    with pytest.raises(
        DownloadError, match=f"expected {len(payload) + 1} bytes, got {len(payload)}"
    ):
        download_archive(archive, tmp_path / "data")
    assert _left_in(tmp_path / "data") == [".rps.lock"]


def test_http_error_is_a_download_error(server, tmp_path):
    archive = _archive(server, "/missing.zip", b"", "rps")
    with pytest.raises(DownloadError, match="404"):
        download_archive(archive, tmp_path)
    assert _left_in(tmp_path) == [".rps.lock"]


def test_no_connection_is_a_clear_error(closed_port_url, tmp_path):
    archive = RemoteArchive(closed_port_url, "0" * 64, 10, "rps", 6)
    with pytest.raises(
        DownloadError, match=r"could not download http://127\.0\.0\.1:\d+/rps\.zip"
    ):
        download_archive(archive, tmp_path, timeout=2)
    assert _left_in(tmp_path) == [".rps.lock"]


def test_archive_with_the_wrong_layout_leaves_nothing(server, tmp_path):
    payload = _zip("rps", classes=("paper", "rock"))  # no scissors
    server.routes["/rps.zip"] = (payload, False)
    archive = _archive(server, "/rps.zip", payload, "rps")
    with pytest.raises(FileNotFoundError, match="scissors is missing"):
        download_archive(archive, tmp_path)
    assert _left_in(tmp_path) == [".rps.lock"]


def test_leftovers_of_a_killed_download_are_removed(server, tmp_path):
    (tmp_path / ".rps.abc.partial" / "rps" / "rock").mkdir(parents=True)
    (tmp_path / ".rps.def.zip.partial").write_bytes(b"half a zip")
    payload = _zip("rps")
    server.routes["/rps.zip"] = (payload, False)
    download_archive(_archive(server, "/rps.zip", payload, "rps"), tmp_path)
    assert _left_in(tmp_path) == [".rps.lock", "rps"]


def test_bad_timeout(tmp_path):
    with pytest.raises(ValueError, match="timeout must be positive"):
        download_archive(_download.TRAIN_ARCHIVE, tmp_path, timeout=0)


# -- unreachable_reason ----------------------------------------------------------------


def test_unreachable_reason(server, closed_port_url):
    server.routes["/rps.zip"] = (b"zip", False)
    assert unreachable_reason(server.url("/rps.zip"), timeout=2) is None
    assert server.heads == ["/rps.zip"] and server.requests == []  # headers only
    assert "cannot be reached (HTTP Error 404" in unreachable_reason(
        server.url("/nothing.zip"), timeout=2
    )
    reason = unreachable_reason(closed_port_url, timeout=2)
    assert reason.startswith(f"{closed_port_url} cannot be reached (")


def test_unreachable_reason_is_bounded_in_time():
    # A server that accepts the connection and then never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/rps.zip"
        start = time.monotonic()
        reason = unreachable_reason(url, timeout=0.5)
        elapsed = time.monotonic() - start
    assert reason is not None and url in reason
    assert elapsed < 2.0


# -- get_rps --------------------------------------------------------------------------


@pytest.fixture
def local_archives(server):
    train, test = _zip("rps", per_class=3), _zip("rps-test-set", per_class=2)
    server.routes["/rps.zip"] = (train, False)
    server.routes["/rps-test-set.zip"] = (test, False)
    return (
        _archive(server, "/rps.zip", train, "rps"),
        _archive(server, "/rps-test-set.zip", test, "rps-test-set"),
    )


def test_real_source_downloads_then_reuses(server, local_archives, tmp_path):
    folders = get_rps("real", tmp_path, archives=local_archives)
    assert folders == RPSFolders(
        tmp_path / "rps", tmp_path / "rps-test-set", "real", folders.reason
    )
    assert "downloaded" in folders.reason and "SHA-256" in folders.reason
    assert validate_image_folder(folders.test) == {"paper": 2, "rock": 2, "scissors": 2}
    again = get_rps("real", tmp_path, archives=local_archives)
    assert again.reason == "they were found on disk"
    assert str(again) == (
        "Using the real Rock-Paper-Scissors images (Laurence Moroney, CC BY 2.0) "
        f"in {tmp_path} because they were found on disk."
    )
    assert len(server.requests) == 2  # one per archive, none the second time


def test_existing_real_copy_is_used_as_is_even_offline(closed_port_url, tmp_path):
    _make_folder(tmp_path / "rps")
    _make_folder(tmp_path / "rps-test-set")
    offline = (
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps", 6),
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps-test-set", 6),
    )
    for source in ("real", "auto"):
        folders = get_rps(source, tmp_path, archives=offline)
        assert (folders.source, folders.train, folders.test) == (
            "real",
            tmp_path / "rps",
            tmp_path / "rps-test-set",
        )


def test_real_source_fails_clearly_offline(closed_port_url, tmp_path):
    offline = (
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps", 6),
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps-test-set", 6),
    )
    with pytest.raises(
        DownloadError, match=f"could not download .*{DATA_SOURCE_ENV}=synthetic"
    ):
        get_rps("real", tmp_path, archives=offline, timeout=2)
    assert _left_in(tmp_path) == [".rps.lock"]


def test_auto_falls_back_to_the_stand_in_offline(
    closed_port_url, tmp_path, small_stand_in
):
    offline = (
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps", 6),
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps-test-set", 6),
    )
    start = time.monotonic()
    folders = get_rps("auto", tmp_path, archives=offline, connect_timeout=1)
    assert time.monotonic() - start < 30
    assert folders.source == "synthetic"
    assert folders.train == tmp_path / "rps-synthetic" / "rps"
    assert validate_image_folder(folders.train) == {
        "paper": 7,
        "rock": 7,
        "scissors": 7,
    }
    assert validate_image_folder(folders.test) == {"paper": 4, "rock": 4, "scissors": 4}
    sentence = folders.describe()
    assert sentence.startswith(
        "Using the synthetic stand-in for the Rock-Paper-Scissors images in "
    )
    assert (
        "because the real images are not in" in sentence
        and "cannot be reached" in sentence
    )


def test_auto_falls_back_when_the_download_fails(
    server, local_archives, tmp_path, small_stand_in
):
    train, test = local_archives
    corrupted = (
        train,
        RemoteArchive(test.url, "f" * 64, test.size, test.folder, test.images),
    )
    folders = get_rps("auto", tmp_path, archives=corrupted)
    assert folders.source == "synthetic"
    assert "checksum mismatch" in folders.reason
    assert not (tmp_path / "rps-test-set").exists()


def test_auto_downloads_when_the_server_answers(server, local_archives, tmp_path):
    folders = get_rps(root=tmp_path, archives=local_archives)
    assert folders.source == "real"


def test_environment_variables_choose_source_and_folder(
    monkeypatch, tmp_path, small_stand_in
):
    monkeypatch.setenv(DATA_SOURCE_ENV, "synthetic")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    folders = get_rps()
    assert folders.source == "synthetic"
    assert folders.train == tmp_path / "data" / "rps-synthetic" / "rps"
    assert folders.reason == f"{DATA_SOURCE_ENV}=synthetic asks for it"
    # the argument wins over the environment variable
    assert get_rps("synthetic").reason == "source='synthetic' asks for it"


def test_unknown_source(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="source must be one of .* got 'fake'"):
        get_rps("fake", tmp_path)
    monkeypatch.setenv(DATA_SOURCE_ENV, "sometimes")
    with pytest.raises(
        ValueError, match=f"{DATA_SOURCE_ENV} must be one of .* got 'sometimes'"
    ):
        get_rps(root=tmp_path)


def test_broken_real_copy_is_reported_not_replaced(closed_port_url, tmp_path):
    _make_folder(tmp_path / "rps")
    (tmp_path / "rps-test-set").mkdir()  # empty: no class folders
    offline = (
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps", 6),
        RemoteArchive(closed_port_url, "0" * 64, 1, "rps-test-set", 6),
    )
    with pytest.raises(FileNotFoundError, match="rps-test-set"):
        get_rps("real", tmp_path, archives=offline)
    assert _left_in(tmp_path) == ["rps", "rps-test-set"]


def test_stand_in_images_pass_validation(tmp_path, small_stand_in):
    folders = get_rps("synthetic", tmp_path)
    counts = validate_image_folder(folders.train, check_images=True)
    assert counts == {"paper": 7, "rock": 7, "scissors": 7}
    with Image.open(next(folders.test.glob("rock/*.png"))) as image:
        assert (image.mode, image.size) == ("RGBA", (300, 300))
        assert np.asarray(image)[0, 0].tolist() == [255, 255, 255, 255]
