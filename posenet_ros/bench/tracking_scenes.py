"""Evaluation sequences with known identities, made from real people on a real background.

People are cut from the sample stills (the persons PoseNet finds in messi5.jpg and
basketball1/2.png, as soft-edged rectangular patches) and composited onto vtest.avi's
background (the per-pixel median of its frames: the real street with the pedestrians
removed). Each moves along a known path; a later person in the list is drawn in front, so
crossings occlude. A frame's ground truth is every person whose box is at least half inside
the image, as (identity, box of the person's keypoints in that frame).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np

from posenet_ros.core import paths
from posenet_ros.imaging.files import iter_video, read_image

SPRITE_HEIGHT = 250          # pixels on the 768 x 576 background
KEYPOINT_THRESHOLD = 0.3     # keypoints that define a person's box
# (still, box of the person's keypoints in it, mirrored): the clearly seen people of the
# stills, boxes from PoseNet at input 513 (kept here so the sequences do not depend on a run).
PEOPLE = (("basketball1.png", (51, 108, 152, 458), False),
          ("basketball2.png", (50, 106, 146, 446), True),
          ("messi5.jpg", (152, 104, 344, 320), False))


@dataclass(frozen=True)
class Sprite:
    """A person's patch (RGB), its alpha, the keypoint box inside the patch, and who it is.

    ``person`` names the human: two crops of one person share it ("" where unknown).
    """

    rgb: np.ndarray
    alpha: np.ndarray
    box: tuple[float, float, float, float]
    person: str = ""


@dataclass(frozen=True)
class Mover:
    """A person ``identity`` whose box centre is ``path(t)`` (pixels), None when off stage."""

    identity: int
    sprite: Sprite
    path: Callable[[float], tuple[float, float] | None]


@dataclass(frozen=True)
class Scene:
    """A scenario: people, frame rate, duration, dropped frame indices."""

    name: str
    movers: tuple[Mover, ...]
    fps: float
    duration: float
    dropped: frozenset = frozenset()
    crossing: bool = True


def background(every: int = 13) -> np.ndarray:
    """Median of every ``every``-th frame of vtest.avi: the street without pedestrians."""
    kept = [f for i, f in enumerate(iter_video(paths.sample_video())) if i % every == 0]
    return np.median(np.stack(kept), axis=0).astype(np.uint8)


def load_sprites() -> list[Sprite]:
    """Return the people of :data:`PEOPLE`, scaled so their keypoint box is SPRITE_HEIGHT tall."""
    sprites = []
    for name, (x0, y0, x1, y1), mirrored in PEOPLE:
        image = read_image(paths.data_dir() / name)
        h, w = image.shape[:2]
        mx, my = 0.25 * (x1 - x0), 0.08 * (y1 - y0)
        cx0, cy0 = max(0, int(x0 - mx)), max(0, int(y0 - my))
        cx1, cy1 = min(w, int(x1 + mx)), min(h, int(y1 + my))
        patch = image[cy0:cy1, cx0:cx1]
        scale = SPRITE_HEIGHT / (y1 - y0)
        patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        box = [(x0 - cx0) * scale, (y0 - cy0) * scale, (x1 - cx0) * scale, (y1 - cy0) * scale]
        if mirrored:
            patch = patch[:, ::-1].copy()
            width = patch.shape[1]
            box = [width - box[2], box[1], width - box[0], box[3]]
        sprites.append(Sprite(patch, soft_alpha(patch.shape[:2]), tuple(box)))
    return sprites


def soft_alpha(shape: tuple[int, int], border: int = 8) -> np.ndarray:
    """Return an alpha mask that fades to 0 over ``border`` pixels at the patch edges."""
    h, w = shape
    ramp_y = np.clip(np.minimum(np.arange(h), np.arange(h)[::-1]) / border, 0, 1)
    ramp_x = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / border, 0, 1)
    return (ramp_y[:, None] * ramp_x[None, :])[..., None]


def render(scene: Scene, base: np.ndarray
           ) -> Iterator[tuple[float, np.ndarray, list[tuple[int, tuple]]]]:
    """Yield (stamp seconds, RGB frame, ground truth) for each frame not dropped."""
    height, width = base.shape[:2]
    for index in range(int(round(scene.duration * scene.fps))):
        if index in scene.dropped:
            continue
        t = index / scene.fps
        canvas = base.astype(np.float32)
        truth = []
        for mover in scene.movers:
            centre = mover.path(t)
            if centre is None:
                continue
            box = paste(canvas, mover.sprite, centre)
            if _inside_fraction(box, width, height) >= 0.5:
                truth.append((mover.identity, box))
        yield t, canvas.astype(np.uint8), truth


def paste(canvas: np.ndarray, sprite: Sprite, centre: tuple[float, float]) -> tuple:
    """Blend ``sprite`` onto ``canvas`` centred at ``centre``; return its person box there."""
    bx0, by0, bx1, by1 = sprite.box
    ox = int(round(centre[0] - (bx0 + bx1) / 2))
    oy = int(round(centre[1] - (by0 + by1) / 2))
    h, w = sprite.rgb.shape[:2]
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, W), min(oy + h, H)
    if x0 < x1 and y0 < y1:
        src = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
        a = sprite.alpha[src]
        canvas[y0:y1, x0:x1] = a * sprite.rgb[src] + (1 - a) * canvas[y0:y1, x0:x1]
    return (ox + bx0, oy + by0, ox + bx1, oy + by1)


def _inside_fraction(box: tuple, width: int, height: int) -> float:
    x0, y0, x1, y1 = box
    inside = max(0.0, min(x1, width) - max(x0, 0)) * max(0.0, min(y1, height) - max(y0, 0))
    return inside / max((x1 - x0) * (y1 - y0), 1e-9)


def line(start: tuple, end: tuple, t0: float, t1: float) -> Callable:
    """Return a straight walk from ``start`` at ``t0`` to ``end`` at ``t1`` (off stage outside)."""
    def at(t: float):
        if not t0 <= t <= t1:
            return None
        f = (t - t0) / (t1 - t0)
        return (start[0] + f * (end[0] - start[0]), start[1] + f * (end[1] - start[1]))
    return at


def legs(*segments: Callable) -> Callable:
    """Return a path made of consecutive segments (the first that is on stage wins)."""
    def at(t: float):
        for segment in segments:
            where = segment(t)
            if where is not None:
                return where
        return None
    return at


def scenes(sprites: list[Sprite], seed: int = 0) -> list[Scene]:
    """Return the evaluation scenarios; walking is ~0.8 body heights per second (200 px/s here)."""
    a, b, c = sprites
    rng = np.random.default_rng(seed)
    y = 330.0

    def cross(speed: float, fps: float, name: str, drop: float = 0.0) -> Scene:
        span = 560 / speed                       # seconds to walk 100 -> 660 px
        movers = (Mover(1, a, line((100, y), (660, y + 12), 0.2, 0.2 + span)),
                  Mover(2, b, line((660, y + 12), (100, y), 0.2, 0.2 + span)))
        duration = span + 0.6
        frames = int(duration * fps)
        dropped = frozenset(np.flatnonzero(rng.random(frames) < drop).tolist())
        return Scene(name, movers, fps, duration, dropped)

    walk, run = 200.0, 500.0
    return [
        cross(walk, 10, "cross, walking, 10 fps"),
        cross(walk, 5, "cross, walking, 5 fps"),
        cross(run, 10, "cross, running, 10 fps"),
        cross(walk, 10, "cross, walking, 10 fps, 30% dropped", drop=0.3),
        Scene("pass behind a standing person", (
            Mover(1, a, line((80, y), (690, y), 0.0, 3.0)),
            Mover(2, c, line((384, y + 20), (384, y + 20), 0.0, 3.3))), 10, 3.3),
        Scene("three cross diagonally", (
            Mover(1, a, line((100, 250), (660, 400), 0.0, 2.8)),
            Mover(2, b, line((660, 250), (100, 400), 0.0, 2.8)),
            Mover(3, c, line((380, 420), (380, 240), 0.0, 2.8))), 10, 3.0),
        Scene("leave and re-enter", (
            Mover(1, a, legs(line((300, y), (900, y), 0.0, 1.5),
                             line((900, y), (400, y), 2.5, 4.0))),
            Mover(2, b, line((600, y), (600, y), 0.0, 4.0))), 10, 4.0, crossing=False),
    ]
