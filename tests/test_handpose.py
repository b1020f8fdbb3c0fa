"""Tests of the synthetic Rock-Paper-Scissors stand-in (lrlib.data._standin).

The tests draw a small subset (``images_per_hand=1`` or 2) so that they run in
a few seconds; the full set is timed by benchmarks/bench_handpose.py.
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lrlib.data import _standin as handpose
from lrlib.data._standin import (
    GESTURES,
    TEST_SPLIT,
    TRAIN_SPLIT,
    draw_habit,
    draw_pose,
    draw_view,
    ensure_handpose,
    expected_counts,
    render_hand,
    render_sample,
    series_shape,
    write_handpose,
)

# Facts about the real data set (from its documentation, not from lrlib):
# 2,520 training and 372 test images, three balanced classes, 300x300 RGBA.
REAL_TRAIN_IMAGES, REAL_TEST_IMAGES, REAL_SIZE = 2520, 372, 300
TRAIN_NAME = re.compile(r"^(paper|rock|scissors)0[1-7]-\d{3}\.png$")
TEST_NAME = re.compile(r"^test(paper|rock|scissors)0[1-4]-\d{2}\.png$")


def _files(root: Path, first_only: bool = False) -> dict[str, bytes]:
    """Every PNG under ``root`` by relative path;
    ``first_only``: picture 0 of each series.
    """
    paths = sorted(root.rglob("*.png"))
    if first_only:
        paths = [p for p in paths if re.search(r"-0+\.png$", p.name)]
    return {str(p.relative_to(root)): p.read_bytes() for p in paths}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    """The stand-in with two pictures per series, drawn once for the module."""
    return ensure_handpose(
        tmp_path_factory.mktemp("small") / "rps-synthetic",
        images_per_hand=2,
        processes=1,
    )


# -- counts, layout, names ---------------------------------------------------


def test_full_counts_match_the_real_data_set():
    per_class = expected_counts()
    assert 3 * per_class["rps"] == REAL_TRAIN_IMAGES
    assert 3 * per_class["rps-test-set"] == REAL_TEST_IMAGES
    assert TRAIN_SPLIT.per_class * 3 == REAL_TRAIN_IMAGES
    assert TEST_SPLIT.per_class * 3 == REAL_TEST_IMAGES


def test_layout_names_and_class_balance(small_set):
    assert sorted(p.name for p in small_set.iterdir()) == [
        "HANDPOSE.json",
        "rps",
        "rps-test-set",
    ]
    for folder, pattern, hands in (
        ("rps", TRAIN_NAME, 7),
        ("rps-test-set", TEST_NAME, 4),
    ):
        split = small_set / folder
        assert sorted(p.name for p in split.iterdir()) == sorted(GESTURES)
        for gesture in GESTURES:
            names = sorted(p.name for p in (split / gesture).iterdir())
            # two pictures of each hand, every name of this gesture's pattern
            assert len(names) == 2 * hands
            for name in names:
                match = pattern.match(name)
                assert match, name
                assert match.group(1) == gesture
    test_rock = sorted(p.name for p in (small_set / "rps-test-set" / "rock").iterdir())
    assert test_rock[:3] == [
        "testrock01-00.png",
        "testrock01-01.png",
        "testrock02-00.png",
    ]


def test_first_training_file_is_named_like_the_real_ones(small_set):
    assert (small_set / "rps" / "rock" / "rock01-000.png").is_file()
    assert (small_set / "rps" / "paper" / "paper07-001.png").is_file()
    assert not (small_set / "rps" / "paper" / "paper08-000.png").exists()


def test_marker_records_version_and_seed(small_set):
    marker = json.loads((small_set / handpose.MARKER_FILE).read_text())
    assert marker["version"] == handpose.GENERATOR_VERSION
    assert marker["seed"] == handpose.DEFAULT_SEED
    assert marker["images_per_hand"] == 2
    assert marker["per_class"] == {"rps": 14, "rps-test-set": 8}
    # The name stands-ins were first drawn under: they stay valid after the move
    # of the module to lrlib.data._standin.
    assert marker["generator"] == "lrlib.handpose"


# -- image format -------------------------------------------------------------


def test_images_are_300px_opaque_rgba_on_white(small_set):
    paths = sorted(small_set.rglob("*.png"))
    assert len(paths) == 3 * (14 + 8)
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.mode == "RGBA"
            assert image.size == (REAL_SIZE, REAL_SIZE)
            pixels = np.asarray(image)
        assert (pixels[..., 3] == 255).all(), path
        for corner in (
            pixels[:8, :8],
            pixels[:8, -8:],
            pixels[-8:, :8],
            pixels[-8:, -8:],
        ):
            assert (corner[..., :3] == 255).all(), path
        # a hand is drawn: a sizeable share of the picture is not background
        hand = (pixels[..., :3] < 250).any(axis=-1).mean()
        assert 0.03 < hand < 0.7, (path, hand)


def test_gestures_differ_in_the_expected_way():
    # Same hand and view for all three gestures: an open hand covers more of
    # the picture than two fingers, which cover more than a fist.
    rng = np.random.default_rng(0)
    area = {g: [] for g in GESTURES}
    for _ in range(6):
        shape = handpose.draw_hand_shape(rng)
        habit = draw_habit(rng)
        view = draw_view(habit, rng, size=120)
        for gesture in GESTURES:
            pose = draw_pose(gesture, np.random.default_rng(1))
            pixels = np.asarray(render_hand(shape, pose, view, size=120))
            area[gesture].append((pixels[..., :3] < 250).any(axis=-1).sum())
    mean = {g: np.mean(a) for g, a in area.items()}
    assert mean["paper"] > mean["scissors"] > mean["rock"]


# -- determinism -----------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(small_set, tmp_path):
    # Drawing one picture per series instead of two gives the same first pictures.
    again = ensure_handpose(tmp_path / "again", images_per_hand=1, processes=1)
    expected = _files(small_set, first_only=True)
    assert len(expected) == 33
    assert _files(again) == expected


def test_worker_processes_do_not_change_the_files(small_set, tmp_path):
    (tmp_path / "pool").mkdir()
    write_handpose(tmp_path / "pool", images_per_hand=1, processes=2)
    assert _files(tmp_path / "pool") == _files(small_set, first_only=True)


def test_a_subset_draws_the_same_pictures_as_the_full_set(small_set):
    # Picture 1 of hand 3 does not depend on how many pictures are drawn.
    expected = render_sample(TRAIN_SPLIT, "scissors", 2, 1, handpose.DEFAULT_SEED)
    with Image.open(small_set / "rps" / "scissors" / "scissors03-001.png") as image:
        assert np.array_equal(np.asarray(image), np.asarray(expected))


def test_another_seed_gives_other_pictures(small_set, tmp_path):
    other = ensure_handpose(
        tmp_path / "other",
        seed=handpose.DEFAULT_SEED + 1,
        images_per_hand=1,
        processes=1,
    )
    ours = _files(small_set)
    theirs = _files(other)
    assert theirs.keys() <= ours.keys()
    assert all(theirs[name] != ours[name] for name in theirs)


# -- hands ------------------------------------------------------------------------


def test_test_hands_are_not_training_hands():
    seed = handpose.DEFAULT_SEED
    train = [
        series_shape(TRAIN_SPLIT, g, h, seed)[0]
        for g in GESTURES
        for h in range(TRAIN_SPLIT.hands)
    ]
    test = [
        series_shape(TEST_SPLIT, g, h, seed)[0]
        for g in GESTURES
        for h in range(TEST_SPLIT.hands)
    ]
    assert len(set(train)) == len(train) == 21
    assert len(set(test)) == len(test) == 12
    assert not set(train) & set(test)
    # not even a skin tone is shared
    assert not {s.skin for s in train} & {s.skin for s in test}


def test_latin_hypercube_puts_one_point_in_each_slice():
    points = handpose.latin_hypercube(np.random.default_rng(0), 7, 4)
    assert points.shape == (7, 4)
    assert ((points >= 0) & (points < 1)).all()
    for axis in range(4):
        assert sorted(np.floor(points[:, axis] * 7).astype(int)) == list(range(7))


def test_training_hands_span_the_skin_tones():
    # Stratified: each gesture's seven training hands range from light to dark.
    for gesture in GESTURES:
        brightness = [
            sum(series_shape(TRAIN_SPLIT, gesture, h, 0)[0].skin) for h in range(7)
        ]
        assert max(brightness) - min(brightness) > 0.6 * (
            sum(handpose._LIGHT_SKIN) - sum(handpose._DARK_SKIN)
        )


def test_random_streams_do_not_overlap():
    # NumPy pads short seed keys with zeros; the streams for the strata, the
    # first hand and its first picture must nevertheless differ.
    draws = {
        purpose: handpose._rng(0, TRAIN_SPLIT, "rock", purpose).uniform(size=4).tolist()
        for purpose in (handpose._STRATA, handpose._HAND, handpose._PICTURE)
    }
    assert len({tuple(d) for d in draws.values()}) == 3


def test_a_series_shows_one_hand(small_set):
    # Within a series the skin colour is the same hand's: the median colour
    # of the hand pixels of two pictures of one series is closer than that
    # of two different series.
    def skin(path: Path) -> np.ndarray:
        pixels = np.asarray(Image.open(path))[..., :3].reshape(-1, 3).astype(float)
        return np.median(pixels[(pixels < 250).any(axis=1)], axis=0)

    rock = small_set / "rps" / "rock"
    same = np.abs(skin(rock / "rock01-000.png") - skin(rock / "rock01-001.png")).sum()
    others = [
        np.abs(skin(rock / "rock01-000.png") - skin(rock / f"rock0{h}-000.png")).sum()
        for h in range(2, 8)
    ]
    assert same < min(others)


# -- cache ------------------------------------------------------------------------


@pytest.fixture
def quick_pictures(monkeypatch):
    """Replace the renderer by a plain picture whose colour depends on every argument.

    The cache tests are about files and folders, not about hands.
    """

    def plain(split, gesture, hand, index, seed, size=handpose.IMAGE_SIZE):
        key = abs(hash((split.code, gesture, hand, index, seed)))
        return Image.new("RGBA", (size, size), (key % 256, key // 256 % 256, 128, 255))

    monkeypatch.setattr(handpose, "render_sample", plain)


def test_cache_is_reused(small_set, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(handpose, "write_handpose", fail)
    assert ensure_handpose(small_set, images_per_hand=2) == small_set


def test_stale_cache_is_redrawn(tmp_path, monkeypatch, quick_pictures):
    root = ensure_handpose(tmp_path / "cache", images_per_hand=1, processes=1)
    before = _files(root)
    monkeypatch.setattr(handpose, "GENERATOR_VERSION", "0-test")
    ensure_handpose(root, images_per_hand=1, processes=1)
    marker = json.loads((root / handpose.MARKER_FILE).read_text())
    assert marker["version"] == "0-test"
    assert _files(root) == before  # same pictures: only the marker was stale
    ensure_handpose(root, seed=7, images_per_hand=1, processes=1)
    assert json.loads((root / handpose.MARKER_FILE).read_text())["seed"] == 7
    assert _files(root) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".cache.lock",
        "cache",
    ]  # no temporary folders left


def test_interrupted_drawing_leaves_nothing(tmp_path, monkeypatch, quick_pictures):
    calls = []

    def crash_on_fifth(job):
        calls.append(job)
        if len(calls) == 5:
            raise KeyboardInterrupt
        original(job)

    original = handpose._write
    monkeypatch.setattr(handpose, "_write", crash_on_fifth)
    with pytest.raises(KeyboardInterrupt):
        ensure_handpose(tmp_path / "cache", images_per_hand=1, processes=1)
    assert [p.name for p in tmp_path.iterdir()] == [
        ".cache.lock"
    ]  # only the (released) lock file


def test_leftover_temporary_folder_is_removed(tmp_path, quick_pictures):
    leftover = tmp_path / ".cache.abc123.partial"
    (leftover / "rps").mkdir(parents=True)
    ensure_handpose(tmp_path / "cache", images_per_hand=1, processes=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache.lock", "cache"]


def test_concurrent_callers_take_turns_and_draw_once(
    tmp_path, quick_pictures, monkeypatch
):
    drawn, inside, overlaps = [], [], []
    original = handpose.write_handpose

    def slow_write(folder, **kwargs):
        inside.append(folder)
        if len(inside) > 1:
            overlaps.append(list(inside))
        time.sleep(
            0.3
        )  # long enough for the other caller to arrive while this one draws
        original(folder, **kwargs)
        drawn.append(folder)
        inside.remove(folder)

    monkeypatch.setattr(handpose, "write_handpose", slow_write)
    root = tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(
                lambda _: ensure_handpose(root, images_per_hand=1, processes=1),
                range(3),
            )
        )
    assert results == [root] * 3
    assert (
        len(drawn) == 1 and overlaps == []
    )  # one drew; the others waited and reused it
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache.lock", "cache"]
    assert (root / handpose.MARKER_FILE).exists()


def test_a_failed_caller_releases_the_lock(tmp_path, quick_pictures, monkeypatch):
    original = handpose.write_handpose

    def failing(folder, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(handpose, "write_handpose", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_handpose(tmp_path / "cache", images_per_hand=1, processes=1)
    monkeypatch.setattr(handpose, "write_handpose", original)
    # a second caller does not wait forever: the lock was released on the way out
    with ThreadPoolExecutor(max_workers=1) as pool:
        root = pool.submit(
            ensure_handpose, tmp_path / "cache", images_per_hand=1, processes=1
        ).result(timeout=60)
    assert (root / handpose.MARKER_FILE).exists()


def test_foreign_folder_is_never_overwritten(tmp_path, quick_pictures):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="mine"):
        ensure_handpose(root, images_per_hand=1, processes=1)
    assert (root / "notes.txt").read_text() == "keep me"


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "3", True, None])
def test_bad_seed(seed, tmp_path):
    with pytest.raises(
        ValueError, match=r"^seed must be an int from 0 to 4294967295, got "
    ):
        ensure_handpose(tmp_path / "x", seed=seed)


@pytest.mark.parametrize("count", [0, -3, 2.0, True])
def test_bad_images_per_hand(count, tmp_path):
    with pytest.raises(
        ValueError, match="^images_per_hand must be a positive int, got "
    ):
        write_handpose(tmp_path, images_per_hand=count)


@pytest.mark.parametrize("processes", [0, -1, 1.5])
def test_bad_processes(processes, tmp_path):
    with pytest.raises(ValueError, match="^processes must be a positive int, got "):
        write_handpose(tmp_path, processes=processes)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        write_handpose(tmp_path / "nowhere", images_per_hand=1)


def test_bad_gesture():
    with pytest.raises(ValueError, match="gesture must be one of .* got 'lizard'"):
        draw_pose("lizard", np.random.default_rng(0))
    with pytest.raises(ValueError, match="'spock'"):
        render_sample(TRAIN_SPLIT, "spock", 0, 0, 0)


def test_bad_size():
    rng = np.random.default_rng(0)
    shape, pose, view = (
        handpose.draw_hand_shape(rng),
        draw_pose("rock", rng),
        draw_view(draw_habit(rng), rng),
    )
    with pytest.raises(ValueError, match="^size must be an int >= 16, got 8$"):
        render_hand(shape, pose, view, size=8)


def test_a_script_without_a_main_guard_fails_fast_instead_of_hanging(tmp_path):
    """Spawned drawing workers re-run an unguarded script;
    they must not wait for the lock.
    """
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from lrlib.data._standin import ensure_handpose\n"
        f"ensure_handpose({str(tmp_path / 'rps')!r}, images_per_hand=1, processes=2)\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode != 0
    assert "__main__" in result.stderr and "guard" in result.stderr
