"""A synthetic stand-in for the Rock-Paper-Scissors hand-pose images.

The book's first chapters train a small CNN on Laurence Moroney's
Rock-Paper-Scissors images: CGI hands on a white background, 300x300 RGBA
PNGs, one folder per class. When that data cannot be downloaded (no network,
a locked-down classroom), this module draws a replacement with the same
layout, file names and image format, so that every notebook still runs.

The pictures come from a tiny 3D model, not a photograph. Three random draws
make a picture:

* a :class:`HandShape` -- whose hand it is: skin tone, handedness, proportions;
* a :class:`HandPose` -- the joint angles of a fist (rock), an open hand
  (paper) or two extended fingers (scissors);
* a :class:`HandView` -- how the posed hand is turned in 3D, sized, placed
  and lit.

:func:`render_hand` turns the bones into capsules and the palm into a slab,
projects them onto the picture and paints them farthest first.

The data set is organised like the real one. Each *series* of files (a prefix
such as ``rock03`` or ``testpaper02``) shows one hand, held the way its owner
tends to hold it (a :class:`ViewHabit`), from nearby viewpoints. The hands of
a gesture are spread evenly over skin tones and habits (see
:func:`latin_hypercube`), and the test series show other hands than the
training series. A few pictures catch a hand halfway between two gestures.
So a network that memorises the training hands does worse on the test
split -- the overfitting that the dropout chapter needs to show. (Measured
with chapter 2's CNN, 5 filters, Adam at 3e-4, 10 epochs, on the default
seed and five training seeds: without dropout 97-98% training and 78-87%
test accuracy; with dropout p=0.3 about the same training and 88-95% test
accuracy.)

Everything is deterministic: each picture has its own random generator,
seeded from ``(seed, split, gesture, hand, index)``, so the same seed gives
byte-identical files whatever the number of worker processes, and any subset
can be drawn on its own.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from lrlib._validation import check_int
from lrlib.data._filelock import exclusive

__all__ = [
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "GESTURES",
    "HALFWAY_RATE",
    "IMAGE_SIZE",
    "MARKER_FILE",
    "SPLITS",
    "TEST_SPLIT",
    "TRAIN_SPLIT",
    "draw_habit",
    "draw_hand_shape",
    "draw_pose",
    "draw_view",
    "ensure_handpose",
    "expected_counts",
    "HandPose",
    "HandShape",
    "HandView",
    "latin_hypercube",
    "render_hand",
    "render_sample",
    "series_shape",
    "SplitSpec",
    "ViewHabit",
    "write_handpose",
]

GENERATOR_VERSION = "2"
"""Bumped whenever a change to this module changes the pictures;
stale caches are redrawn.
"""

GENERATOR_NAME = "lrlib.handpose"
"""The generator's name in the marker file: the module's name when it wrote
its first markers, kept when it moved to ``lrlib.data._standin``, so that a
stand-in drawn before is still recognized (the pictures are the same)."""

DEFAULT_SEED = 4
"""Seed of the stand-in the book uses.

Most seeds show chapter 2's point (dropout narrows the gap between training
and test accuracy); this one, checked over several training seeds, shows it
clearly. Like the real data set, the stand-in is one fixed draw.
"""

GESTURES = ("paper", "rock", "scissors")
"""The three classes, in the alphabetical order ``ImageFolder`` numbers them."""

IMAGE_SIZE = 300
"""Width and height of every picture, in pixels (as in the real data)."""

MARKER_FILE = "HANDPOSE.json"
"""File recording which generator version, seed and size drew a folder."""

HALFWAY_RATE = 0.03
"""Share of pictures caught halfway between gestures (loosely closed fingers)."""


@dataclass(frozen=True)
class SplitSpec:
    """How one split of the data set is laid out on disk.

    The real training split holds 7 hands x 120 images per class, named like
    ``rps/rock/rock01-000.png``; the real test split holds 4 other hands x 31
    images per class, named like ``rps-test-set/rock/testrock01-00.png``.

    Args:
        folder: the split's folder (``rps`` or ``rps-test-set``).
        prefix: text in front of the gesture in each file name.
        hands: number of hands (series) per class.
        images_per_hand: number of pictures in each series.
        index_digits: zero-padded width of the picture number in file names.
        code: a small integer that keeps this split's random draws apart from
            the other split's.
    """

    folder: str
    prefix: str
    hands: int
    images_per_hand: int
    index_digits: int
    code: int

    @property
    def per_class(self) -> int:
        """Number of pictures of each gesture."""
        return self.hands * self.images_per_hand

    def file_name(self, gesture: str, hand: int, index: int) -> str:
        """File name of picture ``index`` of ``hand`` (both counted from 0)."""
        return f"{self.prefix}{gesture}{hand + 1:02d}-{index:0{self.index_digits}d}.png"


TRAIN_SPLIT = SplitSpec("rps", "", hands=7, images_per_hand=120, index_digits=3, code=1)
TEST_SPLIT = SplitSpec(
    "rps-test-set", "test", hands=4, images_per_hand=31, index_digits=2, code=2
)
SPLITS = (TRAIN_SPLIT, TEST_SPLIT)


# --------------------------------------------------------------------------
# Who, which gesture, from where
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class HandShape:
    """What stays the same in every picture of one hand.

    Lengths are in palm widths: the palm is always 1 unit wide.

    Args:
        skin: base skin colour, RGB in 0..255.
        left: a left hand (drawn as a mirrored right hand).
        palm_length: from the wrist to the knuckles.
        finger_lengths: index, middle, ring and little finger.
        finger_width: thickness of the fingers.
        thumb_length: the thumb, its metacarpal included.
        thickness: back-to-palm thickness of the palm.
        wrist_length: how much forearm shows below the wrist.
    """

    skin: tuple[int, int, int]
    left: bool
    palm_length: float
    finger_lengths: tuple[float, float, float, float]
    finger_width: float
    thumb_length: float
    thickness: float
    wrist_length: float


@dataclass(frozen=True)
class HandPose:
    """The joint angles of one gesture, in radians.

    Args:
        gesture: ``"paper"``, ``"rock"`` or ``"scissors"``.
        spread: sideways angle of each finger (index..little) in the palm's
            plane, positive towards the little finger.
        flex: bend of each finger's three joints towards the palm.
        thumb: direction of the thumb's three bones, as pairs of angles
            (away from the fingers, towards the palm side).
    """

    gesture: str
    spread: tuple[float, float, float, float]
    flex: tuple[tuple[float, float, float], ...]
    thumb: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class ViewHabit:
    """How one person tends to hold a hand up to the camera.

    Args:
        roll: usual turn in the picture's plane, radians (0 = fingers up).
        yaw: usual turn about the arm, radians (0 = palm to the camera,
            pi = back of the hand to the camera).
        size: usual palm width, as a fraction of the picture's width.
    """

    roll: float
    yaw: float
    size: float


@dataclass(frozen=True)
class HandView:
    """How a posed hand is shown in one picture.

    Args:
        roll: turn in the picture's plane (0 = fingers up), radians.
        pitch: tilt of the fingers towards (+) or away from the camera.
        yaw: turn about the arm (0 = palm to the camera).
        scale: palm width in pixels.
        center: where the middle of the hand goes, in pixels.
        light: direction the light comes from in the picture's plane.
        contrast: strength of the shading, 0..1.
    """

    roll: float
    pitch: float
    yaw: float
    scale: float
    center: tuple[float, float]
    light: float
    contrast: float


_LIGHT_SKIN = np.array([246.0, 206.0, 178.0])
_DARK_SKIN = np.array([98.0, 62.0, 44.0])


def draw_hand_shape(rng: np.random.Generator, tone: float | None = None) -> HandShape:
    """Draw a new hand: skin tone, handedness and proportions.

    Args:
        rng: the random generator.
        tone: where the skin tone lies between light (0) and dark (1);
            None draws it uniformly.
    """
    tone = rng.uniform() if tone is None else tone
    skin = (
        _LIGHT_SKIN + tone * (_DARK_SKIN - _LIGHT_SKIN) + rng.normal(0.0, 6.0, size=3)
    )
    middle = rng.uniform(0.8, 1.1)
    return HandShape(
        skin=tuple(int(c) for c in np.clip(skin, 0, 255)),
        left=bool(rng.uniform() < 0.5),
        palm_length=rng.uniform(0.95, 1.25),
        finger_lengths=(
            middle * rng.uniform(0.86, 0.96),
            middle,
            middle * rng.uniform(0.88, 0.98),
            middle * rng.uniform(0.7, 0.82),
        ),
        finger_width=rng.uniform(0.17, 0.25),
        thumb_length=rng.uniform(0.95, 1.2),
        thickness=rng.uniform(0.24, 0.34),
        wrist_length=rng.uniform(0.3, 0.8),
    )


def draw_pose(gesture: str, rng: np.random.Generator) -> HandPose:
    """Draw the joint angles of ``gesture``, with natural variation.

    A few pictures (:data:`HALFWAY_RATE`) catch the hand halfway: the fingers
    that should be straight or curled are only half bent.

    Raises:
        ValueError: ``gesture`` is not one of :data:`GESTURES`.
    """
    _check_gesture(gesture)
    deg = _degrees(rng)
    halfway = rng.uniform() < HALFWAY_RATE

    def straight() -> tuple[float, float, float]:
        if halfway:
            return (deg(35, 75), deg(40, 90), deg(20, 50))
        return (deg(-5, 20), deg(0, 20), deg(0, 15))

    def curled() -> tuple[float, float, float]:
        if halfway and gesture == "rock":
            return (deg(35, 75), deg(40, 90), deg(20, 50))
        return (deg(70, 100), deg(90, 110), deg(40, 70))

    def jitter() -> float:
        return math.radians(rng.normal(0.0, 2.0))

    # The thumb: out to the side for paper, folded over the fingers otherwise.
    if gesture == "paper" and not halfway:
        thumb = (
            (deg(30, 45), deg(0, 20)),
            (deg(30, 60), deg(0, 20)),
            (deg(20, 60), deg(0, 20)),
        )
    else:
        thumb = (
            (deg(15, 35), deg(30, 50)),
            (deg(-70, -30), deg(40, 80)),
            (deg(-100, -70), deg(10, 40)),
        )

    if gesture == "paper":
        fan = 0.0 if halfway else deg(0, 14)
        spread = tuple(fan * (i - 1.2) + jitter() for i in range(4))
        flex = tuple(straight() for _ in range(4))
    elif gesture == "rock":
        spread = tuple(jitter() for _ in range(4))
        flex = tuple(curled() for _ in range(4))
    else:  # scissors: index and middle finger in a V, the others curled under the thumb
        v = deg(1, 3) if halfway else deg(6, 22)
        spread = (-v, v, jitter(), jitter())
        flex = (straight(), straight(), curled(), curled())
    return HandPose(gesture=gesture, spread=spread, flex=flex, thumb=thumb)


def draw_habit(
    rng: np.random.Generator, quantiles: np.ndarray | None = None
) -> ViewHabit:
    """Draw how a person holds a hand: near upright, palm (or, for a quarter
    of the people, the back of the hand) to the camera.

    Args:
        rng: the random generator.
        quantiles: three numbers in [0, 1) that place the roll, the facing
            (back of the hand below 0.25, then the yaw) and the size in their
            ranges; None draws them uniformly.
    """
    roll, facing, size = rng.uniform(size=3) if quantiles is None else quantiles
    back = facing < 0.25
    turn = facing / 0.25 if back else (facing - 0.25) / 0.75
    return ViewHabit(
        roll=math.radians(-30 + 60 * roll),
        yaw=math.radians(-40 + 80 * turn) + (math.pi if back else 0.0),
        size=0.28 + 0.1 * size,
    )


def draw_view(
    habit: ViewHabit, rng: np.random.Generator, size: int = IMAGE_SIZE
) -> HandView:
    """Draw one picture's view: a small variation on ``habit``."""
    deg = _degrees(rng)
    return HandView(
        roll=habit.roll + deg(-8, 8),
        pitch=deg(-10, 10),
        yaw=habit.yaw + deg(-12, 12),
        scale=size * habit.size * rng.uniform(0.96, 1.04),
        center=(size * rng.uniform(0.47, 0.53), size * rng.uniform(0.47, 0.53)),
        light=rng.uniform(-math.pi, math.pi),
        contrast=rng.uniform(0.1, 0.35),
    )


def _degrees(rng: np.random.Generator):
    """A helper drawing an angle uniformly between two bounds given in degrees."""

    def draw(low: float, high: float) -> float:
        return math.radians(rng.uniform(low, high))

    return draw


def _check_gesture(gesture: str) -> None:
    if gesture not in GESTURES:
        raise ValueError(f"gesture must be one of {GESTURES}, got {gesture!r}")


# --------------------------------------------------------------------------
# Rendering: posed skeleton -> parts in camera space -> painted picture
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One piece to paint, in camera space (x right, y up, z towards the viewer).

    A capsule has two points and a radius; a palm face is a polygon (radius 0).
    Parts are painted in increasing ``depth``.
    """

    points: np.ndarray
    radius: float
    depth: float


def _direction(sideways: float, towards_palm: float) -> np.ndarray:
    """Unit vector turned ``sideways`` from +y (the fingers' way),
    then ``towards_palm`` into +z.
    """
    return np.array(
        [
            math.sin(sideways) * math.cos(towards_palm),
            math.cos(sideways) * math.cos(towards_palm),
            math.sin(towards_palm),
        ]
    )


def _bones(
    shape: HandShape, pose: HandPose
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """The posed bones as (start, end, radius) in the hand's own frame.

    The frame: x across the palm (thumb at -x), y from the wrist towards the
    fingers, z out of the palm. The first bone is the forearm.
    """
    r = shape.finger_width / 2
    bones = [
        (np.array([0.0, 0.05, 0.0]), np.array([0.0, -shape.wrist_length, 0.0]), 0.38)
    ]
    # Four fingers of three bones each, rooted on a slightly arched knuckle line.
    for i, (spread, flex, length) in enumerate(
        zip(pose.spread, pose.flex, shape.finger_lengths)
    ):
        joint = np.array(
            [-0.36 + 0.24 * i, shape.palm_length - 0.06 * abs(i - 1.2) - 0.05, 0.0]
        )
        bend = 0.0
        for share, angle, taper in zip((0.46, 0.30, 0.24), flex, (1.0, 0.92, 0.84)):
            bend += angle
            end = joint + share * length * _direction(spread, bend)
            bones.append((joint, end, r * taper))
            joint = end
    # The thumb: metacarpal from the heel of the palm, then two phalanges.
    joint = np.array([-0.3, 0.12 * shape.palm_length, 0.05])
    for share, (away, towards), taper in zip(
        (0.42, 0.3, 0.28), pose.thumb, (1.25, 1.1, 1.0)
    ):
        end = joint + share * shape.thumb_length * _direction(-away, towards)
        bones.append((joint, end, r * taper))
        joint = end
    return bones


_PALM_OUTLINE = np.array(
    [
        (-0.38, 0.0),
        (0.36, 0.0),
        (0.5, 0.35),
        (0.5, 0.85),
        (0.42, 0.98),
        (-0.42, 0.98),
        (-0.5, 0.85),
        (-0.48, 0.3),
    ]
)
"""The palm's outline in the hand's frame: x in palm widths, y in palm lengths."""


def _rotation(view: HandView) -> np.ndarray:
    """Rotation from the hand's frame to camera space: yaw, then pitch, then roll."""
    cy, sy = math.cos(view.yaw), math.sin(view.yaw)
    cp, sp = math.cos(view.pitch), math.sin(view.pitch)
    cr, sr = math.cos(view.roll), math.sin(view.roll)
    yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return roll @ pitch @ yaw


def _parts(shape: HandShape, pose: HandPose, view: HandView) -> list[_Part]:
    """The hand as capsules and palm faces in camera space, in painting order."""
    mirror = np.array([-1.0 if shape.left else 1.0, 1.0, 1.0])
    rotate = _rotation(view) * mirror  # mirror the hand's x first, then rotate

    parts = []
    for k, (start, end, radius) in enumerate(_bones(shape, pose)):
        ends = np.stack([start, end]) @ rotate.T
        # The forearm is painted first: the palm always covers its upper end.
        depth = -math.inf if k == 0 else float(ends[:, 2].mean())
        parts.append(_Part(ends, radius, depth))
    for side in (1.0, -1.0):  # the palm's two faces make a slab
        face = np.column_stack(
            [
                _PALM_OUTLINE[:, 0],
                _PALM_OUTLINE[:, 1] * shape.palm_length,
                np.full(len(_PALM_OUTLINE), side * shape.thickness / 2),
            ]
        )
        face = face @ rotate.T
        parts.append(_Part(face, 0.0, float(face[:, 2].mean())))
    return sorted(parts, key=lambda part: part.depth)


def _placement(
    parts: list[_Part], view: HandView, size: int
) -> tuple[float, np.ndarray]:
    """Scale (pixels per unit) and offset that put the hand where ``view`` says.

    The hand shrinks and moves when needed to keep a margin of 4% of the
    picture on every side, so that the corners always show the background.
    """
    low = np.min(
        [part.points[:, :2].min(axis=0) - part.radius for part in parts], axis=0
    )
    high = np.max(
        [part.points[:, :2].max(axis=0) + part.radius for part in parts], axis=0
    )
    margin = 0.04 * size
    room = size - 2 * margin
    scale = min(view.scale, *(room / (high - low)))
    half = scale * (high - low) / 2
    center = np.clip(view.center, margin + half, size - margin - half)
    # Picture rows grow downwards, camera y upwards.
    center_of_hand = (low + high) / 2
    offset = np.array(
        [center[0] - scale * center_of_hand[0], center[1] + scale * center_of_hand[1]]
    )
    return scale, offset


def render_hand(
    shape: HandShape, pose: HandPose, view: HandView, size: int = IMAGE_SIZE
) -> Image.Image:
    """Paint one hand on a white background.

    The parts are painted farthest first (the painter's algorithm), each with
    a darker outline and a lighter glint on the side the light comes from.
    A soft light gradient over the whole hand finishes the shading. Drawing
    at twice the size and halving smooths the edges.

    Args:
        shape: the hand's identity.
        pose: its joint angles.
        view: its orientation, size, place and light.
        size: width and height of the picture in pixels.

    Returns:
        A ``size`` x ``size`` RGBA picture, fully opaque (like the real data).

    Raises:
        ValueError: ``size`` is below 16 pixels.
    """
    check_int("size", size, low=16)
    supersample = 2
    parts = _parts(shape, pose, view)
    scale, offset = _placement(parts, view, size)
    to_canvas = np.array([scale, -scale]) * supersample
    offset = offset * supersample

    skin = np.array(shape.skin, dtype=float)
    edge = _rgb(skin * 0.62)
    light = np.array([math.cos(view.light), -math.sin(view.light)])  # in canvas axes
    deepest = max(abs(part.depth) for part in parts if math.isfinite(part.depth)) + 1e-6
    line = max(1.0, 0.012 * scale * supersample)

    canvas = Image.new("RGB", (size * supersample,) * 2, "white")
    draw = ImageDraw.Draw(canvas)
    for part in parts:
        xy = part.points[:, :2] * to_canvas + offset
        # Nearer parts are a little lighter.
        tint = 1.0 + 0.08 * max(-1.0, part.depth / deepest)
        if part.radius == 0.0:
            draw.polygon(
                [tuple(p) for p in xy],
                fill=_rgb(skin * tint),
                outline=edge,
                width=round(line),
            )
            continue
        radius = part.radius * scale * supersample
        _capsule(draw, xy, radius + line, edge)
        _capsule(draw, xy, radius, _rgb(skin * tint))
        _capsule(
            draw, xy + 0.35 * radius * light, 0.4 * radius, _rgb(skin * tint * 1.1)
        )

    picture = canvas.reduce(supersample)
    # The light gradient scales the "ink" (255 minus the colour), so the
    # white background, which has no ink, stays exactly white; only the
    # hand's bounding box needs the arithmetic.
    left, top, right, bottom = ImageChops.invert(picture).getbbox()
    ink = 255 - np.asarray(picture.crop((left, top, right, bottom)))
    across = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    ramp = 1.0 - 0.5 * view.contrast * (
        light[0] * across[None, left:right] + light[1] * across[top:bottom, None]
    )
    shaded_ink = np.minimum(ink * ramp[..., None], 255.0).astype(np.uint8)
    picture.paste(Image.fromarray(255 - shaded_ink, "RGB"), (left, top))
    return picture.convert("RGBA")


def _rgb(color: np.ndarray) -> tuple[int, int, int]:
    return tuple(int(c) for c in np.clip(color, 0, 255))


def _capsule(
    draw: ImageDraw.ImageDraw,
    ends: np.ndarray,
    radius: float,
    fill: tuple[int, int, int],
) -> None:
    """A thick line with round ends between the two rows of ``ends``."""
    (x0, y0), (x1, y1) = ends
    draw.line([(x0, y0), (x1, y1)], fill=fill, width=max(1, round(2 * radius)))
    for x, y in ((x0, y0), (x1, y1)):
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill)


# --------------------------------------------------------------------------
# The data set: which hand, gesture and view each file shows
# --------------------------------------------------------------------------


_STRATA, _HAND, _PICTURE = 0, 1, 2
"""What a random generator is for: the third entry of its key."""


def _rng(
    seed: int,
    split: SplitSpec,
    gesture: str,
    purpose: int,
    hand: int = 0,
    index: int = 0,
) -> np.random.Generator:
    """An independent random generator for one purpose.

    All keys have the same length: NumPy pads short keys with zeros, so
    ``[4, 1, 1]`` and ``[4, 1, 1, 0]`` would give the same numbers.
    """
    _check_gesture(gesture)
    return np.random.default_rng(
        [seed, split.code, purpose, GESTURES.index(gesture), hand, index]
    )


def latin_hypercube(rng: np.random.Generator, n: int, dims: int) -> np.ndarray:
    """``n`` random points in [0, 1)^dims, exactly one in each n-th of every axis.

    Stratified draws spread a few samples evenly: seven hands drawn this way
    always range from light to dark skin, where seven independent draws may
    all be light.
    """
    slices = np.stack([rng.permutation(n) for _ in range(dims)], axis=1)
    return (slices + rng.uniform(size=(n, dims))) / n


def series_shape(
    split: SplitSpec, gesture: str, hand: int, seed: int
) -> tuple[HandShape, ViewHabit]:
    """The hand of one series and the way it is held.

    The hands of one gesture in one split are stratified (see
    :func:`latin_hypercube`) over skin tone, roll, facing and size. The draws
    are keyed by split, gesture and hand, so every series -- in particular
    every test series -- shows a hand of its own.
    """
    tone, *habit = latin_hypercube(_rng(seed, split, gesture, _STRATA), split.hands, 4)[
        hand
    ]
    rng = _rng(seed, split, gesture, _HAND, hand)
    return draw_hand_shape(rng, tone), draw_habit(rng, np.array(habit))


def render_sample(
    split: SplitSpec,
    gesture: str,
    hand: int,
    index: int,
    seed: int,
    size: int = IMAGE_SIZE,
) -> Image.Image:
    """Render picture ``index`` of series ``hand`` of ``gesture`` in ``split``.

    The picture depends only on the arguments, never on what was rendered
    before, so any subset of the data set can be drawn in any order.
    """
    shape, habit = series_shape(split, gesture, hand, seed)
    rng = _rng(seed, split, gesture, _PICTURE, hand, index)
    return render_hand(
        shape, draw_pose(gesture, rng), draw_view(habit, rng, size), size
    )


# --------------------------------------------------------------------------
# Writing the files, and caching them
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """One file to write: everything a worker process needs, and nothing else."""

    path: Path
    split: SplitSpec
    gesture: str
    hand: int
    index: int
    seed: int


def _check_arguments(
    seed: int, images_per_hand: int | None, processes: int | None
) -> None:
    check_int("seed", seed, low=0, high=2**32 - 1)
    if images_per_hand is not None:
        check_int("images_per_hand", images_per_hand, low=1)
    if processes is not None:
        check_int("processes", processes, low=1)


def expected_counts(images_per_hand: int | None = None) -> dict[str, int]:
    """Pictures per class in each split folder, for a given ``images_per_hand`` cap.

    Example:
        >>> expected_counts()
        {'rps': 840, 'rps-test-set': 124}
        >>> expected_counts(images_per_hand=2)
        {'rps': 14, 'rps-test-set': 8}
    """
    _check_arguments(0, images_per_hand, None)
    return {
        split.folder: split.hands * _images_per_hand(split, images_per_hand)
        for split in SPLITS
    }


def _images_per_hand(split: SplitSpec, cap: int | None) -> int:
    return split.images_per_hand if cap is None else min(cap, split.images_per_hand)


def _write(job: _Job) -> None:
    image = render_sample(job.split, job.gesture, job.hand, job.index, job.seed)
    image.save(job.path, format="PNG", compress_level=1)


def write_handpose(
    directory: str | os.PathLike[str],
    *,
    seed: int = DEFAULT_SEED,
    images_per_hand: int | None = None,
    processes: int | None = None,
) -> None:
    """Draw the stand-in into ``directory`` (``rps/`` and ``rps-test-set/``).

    This writes in place; :func:`ensure_handpose` adds caching and the
    all-or-nothing rename around it.

    Args:
        directory: an existing folder; the split folders are created in it.
        seed: the seed of every random draw.
        images_per_hand: draw only the first pictures of each series (at most
            this many), for quick tests; None draws them all.
        processes: worker processes; None uses up to ``os.cpu_count()``.
            The files are identical whatever the number.

    Raises:
        ValueError: a negative or non-integer seed, or a non-positive
            ``images_per_hand`` or ``processes``.
        FileNotFoundError: ``directory`` does not exist.
    """
    _check_arguments(seed, images_per_hand, processes)
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory {directory} does not exist")
    jobs = []
    for split in SPLITS:
        for gesture in GESTURES:
            folder = directory / split.folder / gesture
            folder.mkdir(parents=True, exist_ok=True)
            for hand in range(split.hands):
                for index in range(_images_per_hand(split, images_per_hand)):
                    path = folder / split.file_name(gesture, hand, index)
                    jobs.append(_Job(path, split, gesture, hand, index, int(seed)))

    workers = min(processes or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        for job in jobs:
            _write(job)
        return
    # "spawn" starts clean interpreters: safe next to PyTorch's threads, and
    # the same on Linux, macOS and Windows.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for _ in pool.map(_write, jobs, chunksize=max(1, len(jobs) // (8 * workers))):
            pass


def _refuse_in_spawned_startup() -> None:
    """Fail fast instead of deadlocking in a worker that is re-running ``__main__``."""
    # multiprocessing marks a spawned child as "inheriting" while it re-imports
    # the parent's main module, before it runs any task (its own check against
    # starting processes at that point uses the same flag).
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "the stand-in is being drawn while a worker process starts up: "
            "the script that calls get_rps/load_rps_data at top level needs an "
            '`if __name__ == "__main__":` guard '
            "(the drawing workers re-import the main module)"
        )


def ensure_handpose(
    root: str | os.PathLike[str],
    *,
    seed: int = DEFAULT_SEED,
    images_per_hand: int | None = None,
    processes: int | None = None,
) -> Path:
    """Return ``root`` holding the stand-in, drawing it first when needed.

    ``root`` is reused when its marker file (:data:`MARKER_FILE`) names this
    generator version, seed and ``images_per_hand``. Otherwise the pictures
    are drawn into a temporary folder next to ``root``, which then replaces
    ``root`` in one rename: an interrupted run never leaves a half-drawn
    folder under ``root``'s name. Processes that ask for the same ``root`` at
    once take turns (a lock file ``.<root name>.lock`` beside it): the first
    draws, the others wait and then find the finished folder.

    Args:
        root: the folder that holds ``rps/``, ``rps-test-set/`` and the marker.
        seed: see :func:`write_handpose`.
        images_per_hand: see :func:`write_handpose`.
        processes: see :func:`write_handpose`.

    Returns:
        ``root``, as a :class:`~pathlib.Path`.

    Raises:
        ValueError: invalid arguments (see :func:`write_handpose`).
        RuntimeError: called while a ``spawn``-ed worker process starts up,
            which happens when a script that draws the stand-in at top level
            lacks an ``if __name__ == "__main__":`` guard: the drawing
            workers would re-run the script and wait for the lock their
            parent holds, forever.
        FileExistsError: ``root`` is a non-empty folder without a marker
            (not drawn by this module); it is never overwritten.

    Example:
        >>> # renders a data set
        >>> folder = ensure_handpose("/tmp/rps-synthetic")  # doctest: +SKIP
        >>> sorted(p.name for p in folder.iterdir())  # doctest: +SKIP
        ['HANDPOSE.json', 'rps', 'rps-test-set']
    """
    _refuse_in_spawned_startup()
    _check_arguments(seed, images_per_hand, processes)
    root = Path(root)
    marker = {
        "generator": GENERATOR_NAME,
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "images_per_hand": images_per_hand,
        "per_class": expected_counts(images_per_hand),
    }
    if _read_marker(root) == marker:
        return root  # the common case, without waiting for a lock
    root.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(root.parent / f".{root.name}.lock"):
        # Another process may have finished drawing while this one waited.
        found = _read_marker(root)
        if found == marker:
            return root
        if root.exists() and found is None and any(root.iterdir()):
            raise FileExistsError(
                f"{root} exists but holds no {MARKER_FILE}: it is not a stand-in drawn "
                "by this module, so it is left alone; empty it or choose another "
                "folder"
            )
        # Holding the lock, no other process is drawing: any temporary folder
        # left next to root belongs to a run that was killed.
        for leftover in root.parent.glob(f".{root.name}.*.partial"):
            shutil.rmtree(leftover, ignore_errors=True)
        _draw_into(
            root,
            marker,
            seed=seed,
            images_per_hand=images_per_hand,
            processes=processes,
        )
    return root


def _draw_into(
    root: Path,
    marker: dict,
    *,
    seed: int,
    images_per_hand: int | None,
    processes: int | None,
) -> None:
    """Draw the stand-in into a temporary folder, then swap it in for ``root``."""
    fresh = Path(
        tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.", suffix=".partial")
    )
    try:
        write_handpose(
            fresh, seed=seed, images_per_hand=images_per_hand, processes=processes
        )
        (fresh / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
        if root.exists():  # a stale cache: move it aside, then delete it
            stale = Path(
                tempfile.mkdtemp(
                    dir=root.parent, prefix=f".{root.name}.", suffix=".partial"
                )
            )
            root.rename(stale / "old")
            fresh.rename(root)
            shutil.rmtree(stale, ignore_errors=True)
        else:
            fresh.rename(root)
    finally:
        if fresh.exists():
            shutil.rmtree(fresh, ignore_errors=True)


def _read_marker(root: Path) -> dict | None:
    """The marker of a folder drawn by this module (any version), else None."""
    try:
        marker = json.loads((root / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return (
        marker
        if isinstance(marker, dict) and marker.get("generator") == GENERATOR_NAME
        else None
    )
