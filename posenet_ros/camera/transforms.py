"""A TF buffer without ROS: a tree of parent->child transforms, looked up at a stamp as tf2 does.

Where tf2_ros imports (every ROS install) posenet_node uses its Buffer; this one stands in
where it does not (the development venv), fed from ``/tf`` and ``/tf_static`` by
:mod:`posenet_ros.ros.tf_input`. It keeps tf2's semantics where a consumer could tell:

- static transforms are kept forever, dynamic ones for ``cache_time`` (tf2: 10 s) behind
  their frame's newest sample; a lookup between two samples interpolates (translation
  linearly, rotation by slerp), outside them it is refused as tf2 refuses extrapolation;
- stamp 0 asks for the latest time every link on the path has;
- a lookup goes through the common ancestor of the two frames, and names what is missing
  with tf2's wording ("... does not exist", "not part of the same tree", "extrapolation").

Hostile input is refused with a reason (:class:`TransformRefused`), never stored: a frame
that is its own parent, one that would close a loop, a non-finite translation, a quaternion
that is not unit (tf2's TF_DENORMALIZED_QUATERNION), an empty or over-long frame name.
Memory is bounded: at most ``max_frames`` frames of ``max_samples`` samples each. A full
frame table makes room for a new dynamic frame only by dropping one silent for
``cache_time``, and for a static frame by dropping the dynamic frame silent longest: a flood
of made-up frames on /tf cannot keep a robot's mounts out.
ROS-free (numpy only).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posenet_ros.camera.rigid import BadTransform, interpolate, Rigid
from posenet_ros.core.throttle import shorten

CACHE_TIME_S = 10.0      # tf2's default buffer length
MAX_FRAMES = 1000        # frames with a parent; a robot's tree plus its people's body frames
MAX_SAMPLES = 1000       # per dynamic frame: 10 s at 100 Hz
MAX_FRAME_NAME = 256     # characters; longer names are refused, never stored


class TransformRefused(ValueError):
    """A transform the buffer will not store; ``cause`` is the kind (for log throttling)."""

    def __init__(self, cause: str, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause


class LookupFailed(Exception):
    """No transform between two frames at a stamp; ``cause``: lookup, connectivity, extrapolation.

    The message reads like tf2's, so a search for it finds tf2's explanations.
    """

    def __init__(self, cause: str, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause


@dataclass(eq=False)
class _Link:
    """How a child frame sits in its parent: one static value, or samples over time."""

    parent: str
    static: bool
    stamps: np.ndarray        # (N,) seconds, increasing; one entry (ignored) when static
    values: np.ndarray        # (N, 7): translation x, y, z, quaternion x, y, z, w

    def at(self, child: str, stamp: float) -> Rigid:
        """Return the transform at ``stamp`` (0: newest); LookupFailed outside the samples."""
        if self.static:
            return _rigid(self.values[0])
        first, last = float(self.stamps[0]), float(self.stamps[-1])
        if stamp == 0.0:
            return _rigid(self.values[-1])
        where = f", when looking up transform from frame [{child}] to frame [{self.parent}]"
        if len(self.stamps) == 1 and stamp != first:
            raise LookupFailed("extrapolation", f"Lookup would require extrapolation at time "
                               f"{stamp:.9f}, but only time {first:.9f} is in the buffer{where}")
        if stamp > last:
            raise LookupFailed("extrapolation", f"Lookup would require extrapolation into the "
                               f"future.  Requested time {stamp:.9f} but the latest data is "
                               f"at time {last:.9f}{where}")
        if stamp < first:
            raise LookupFailed("extrapolation", f"Lookup would require extrapolation into the "
                               f"past.  Requested time {stamp:.9f} but the earliest data is "
                               f"at time {first:.9f}{where}")
        i = int(np.searchsorted(self.stamps, stamp))
        if self.stamps[i] == stamp:
            return _rigid(self.values[i])
        t0, t1 = float(self.stamps[i - 1]), float(self.stamps[i])
        return interpolate(_rigid(self.values[i - 1]), _rigid(self.values[i]),
                           (stamp - t0) / (t1 - t0))


class TransformBuffer:
    """Transforms between frames over time; one writer and readers guarded by the caller."""

    def __init__(self, cache_time: float = CACHE_TIME_S, max_frames: int = MAX_FRAMES,
                 max_samples: int = MAX_SAMPLES) -> None:
        self.cache_time = cache_time
        self.max_frames = max_frames
        self.max_samples = max_samples
        self._links: dict[str, _Link] = {}      # child -> how it sits in its parent
        self._parents: Counter = Counter()      # frame -> how many links name it as parent

    def __len__(self) -> int:
        """Frames that have a parent."""
        return len(self._links)

    def samples(self) -> int:
        """Count the samples held over all frames (memory: 64 bytes each)."""
        return sum(len(link.stamps) for link in self._links.values())

    def set_transform(self, parent: str, child: str, stamp: float,
                      translation: Sequence[float], rotation: Sequence[float],
                      static: bool = False) -> None:
        """Store ``parent`` <- ``child`` at ``stamp`` seconds; raises TransformRefused.

        A child that changes parent, or changes between static and dynamic, starts over.
        """
        parent, child = _frame(parent, "frame_id"), _frame(child, "child_frame_id")
        if parent == child:
            raise TransformRefused("self", f"frame {shorten(child)} cannot be its own parent "
                                   "(tf2's TF_SELF_TRANSFORM)")
        try:
            value = Rigid.checked(translation, rotation)
        except BadTransform as exc:
            raise TransformRefused(exc.cause, f"{shorten(parent)} -> {shorten(child)}: "
                                   f"{exc}") from None
        if not np.isfinite(stamp) or stamp < 0:
            raise TransformRefused("stamp", f"{shorten(parent)} -> {shorten(child)}: stamp "
                                   f"{stamp} is not a time")
        row = np.concatenate([value.translation, value.rotation])
        link = self._links.get(child)
        if link is None or link.parent != parent or link.static != static:
            self._check_loop(parent, child)
            if link is None and len(self._links) >= self.max_frames:
                self._make_room(stamp, static)
            self._unlink(child)
            self._links[child] = _Link(parent, static, np.array([stamp]), row[None])
            self._parents[parent] += 1
            return
        if static:
            link.stamps, link.values = np.array([stamp]), row[None]
            return
        self._insert(link, parent, child, stamp, row)

    def lookup(self, target: str, source: str, stamp: float) -> Rigid:
        """Return target <- source at ``stamp`` seconds (0: latest common); raises LookupFailed.

        The result maps points given in ``source`` into ``target``.
        """
        for name, role in ((target, "target_frame"), (source, "source_frame")):
            if not name:
                raise LookupFailed("lookup", f"Invalid argument passed to lookupTransform "
                                   f"argument {role} - frame_id must not be empty")
            if name not in self._links and name not in self._parents:
                raise LookupFailed("lookup", f"{shorten(name)} passed to lookupTransform "
                                   f"argument {role} does not exist. ")
        if target == source:
            return Rigid.identity()
        up_source, up_target = self._chain(source), self._chain(target)
        on_target = set(up_target)
        common = next((frame for frame in up_source if frame in on_target), None)
        if common is None:
            raise LookupFailed("connectivity", f"Could not find a connection between "
                               f"{shorten(target)} and {shorten(source)} because they are not "
                               "part of the same tree.Tf has two or more unconnected trees.")
        path_source = up_source[:up_source.index(common)]
        path_target = up_target[:up_target.index(common)]
        if stamp == 0.0:
            stamp = self._latest_common(path_source + path_target)
        common_from_source = self._to_ancestor(path_source, stamp)
        common_from_target = self._to_ancestor(path_target, stamp)
        return common_from_target.inverse() * common_from_source

    def _to_ancestor(self, path: list[str], stamp: float) -> Rigid:
        """Compose ancestor <- path[0] from each link of ``path`` (child first) at ``stamp``."""
        result = Rigid.identity()
        for child in reversed(path):
            result = result * self._links[child].at(child, stamp)
        return result

    def _latest_common(self, path: list[str]) -> float:
        """Return the newest stamp every dynamic link of ``path`` has (0: all static)."""
        newest = [float(self._links[c].stamps[-1]) for c in path if not self._links[c].static]
        return min(newest) if newest else 0.0

    def _chain(self, frame: str) -> list[str]:
        """``frame`` and its ancestors, up to the root (loops are refused when stored)."""
        chain = [frame]
        while (link := self._links.get(chain[-1])) is not None and len(chain) <= self.max_frames:
            chain.append(link.parent)
        return chain

    def _check_loop(self, parent: str, child: str) -> None:
        if child in self._chain(parent):
            raise TransformRefused("loop", f"{shorten(parent)} -> {shorten(child)} would make a "
                                   f"loop: {shorten(parent)} already descends from "
                                   f"{shorten(child)}")

    def _insert(self, link: _Link, parent: str, child: str, stamp: float,
                row: np.ndarray) -> None:
        newest = float(link.stamps[-1])
        if stamp < newest - self.cache_time:
            raise TransformRefused("old", f"{shorten(parent)} -> {shorten(child)} at "
                                   f"{stamp:.9f} is older than the {self.cache_time} s kept "
                                   f"(newest {newest:.9f}; tf2's TF_OLD_DATA)")
        i = int(np.searchsorted(link.stamps, stamp))
        if i < len(link.stamps) and link.stamps[i] == stamp:
            link.values[i] = row               # the same stamp again: the newer value wins
            return
        stamps, values = np.insert(link.stamps, i, stamp), np.insert(link.values, i, row, 0)
        keep = max(int(np.searchsorted(stamps, stamps[-1] - self.cache_time)),
                   len(stamps) - self.max_samples)
        link.stamps, link.values = stamps[keep:], values[keep:]

    def _make_room(self, stamp: float, static: bool) -> None:
        """Drop the dynamic frame silent longest, if silent for cache_time; else refuse.

        A static frame (a robot's mounts, sent once) always takes the place of a dynamic one.
        """
        dynamic = [(float(link.stamps[-1]), child) for child, link in self._links.items()
                   if not link.static]
        if dynamic:
            newest, child = min(dynamic)
            if static or newest < stamp - self.cache_time:
                self._unlink(child)
                return
        raise TransformRefused("full", f"the buffer holds {self.max_frames} frames, none "
                               f"silent for {self.cache_time} s: new frames are refused")

    def _unlink(self, child: str) -> None:
        link = self._links.pop(child, None)
        if link is not None:
            self._parents[link.parent] -= 1
            if not self._parents[link.parent]:
                del self._parents[link.parent]


def _frame(name: object, role: str) -> str:
    """Return a frame id as stored: one leading slash stripped (as tf2); refuse bad names."""
    if not isinstance(name, str):
        raise TransformRefused("name", f"{role} {shorten(name)} is not a string")
    if len(name) > MAX_FRAME_NAME:
        raise TransformRefused("name", f"{role} {shorten(name, 40)} is longer than "
                               f"{MAX_FRAME_NAME} characters")
    name = name[1:] if name.startswith("/") else name
    if not name:
        raise TransformRefused("name", f"{role} is empty")
    return name


def _rigid(row: np.ndarray) -> Rigid:
    return Rigid(row[:3].copy(), row[3:].copy())
