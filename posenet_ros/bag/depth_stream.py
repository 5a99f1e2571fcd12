"""A bag's aligned depth (+ CameraInfo) for each colour frame, in one bounded pass.

In a recording a depth frame is often logged after the colour frame it belongs to (two driver
threads, two topics), so pairing in log order as the live node does would lose it. Beside the
colour frames, a second reader walks the depth topic in log order and keeps the *raw* messages
logged within :data:`LOOKAHEAD_NS` before or after the colour frame in hand (at most
:data:`MAX_FRAMES`): memory is bounded by that window, never the bag's length. Each colour
frame takes the one nearest in header stamp within the node's ``depth_tolerance``; only that
one is deserialised and decoded. The window in receive time also keeps a bag that loops (stamps
restarting) from pairing a frame with its twin of the other pass.

The colour camera is the newest valid CameraInfo logged at or before the frame, as the node
would have it; before the first one, the first valid one logged within the window (a driver
publishes both together). Depth messages' stamps are read from their CDR header without
deserialising them.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
import struct

from posenet_ros.bag.reader import BagReadError, ImageBag, TopicInfo
from posenet_ros.bag.typestore import CAMERA_INFO, IMAGE
from posenet_ros.camera.intrinsics import CameraInfoError, CameraModel
from posenet_ros.stages.depth.depth_image import decode_depth, DepthError
from posenet_ros.stages.depth.sample import DepthSample

LOOKAHEAD_NS = 500_000_000   # receive-time window around a colour frame searched for depth
MAX_FRAMES = 64              # raw depth messages held at most (~1 s at 30 frames/s, both ways)


def cdr_stamp(raw: bytes | memoryview) -> float | None:
    """Header stamp (seconds) of a serialised message that starts with a std_msgs/Header.

    None when the bytes are too short or not plain CDR (little or big endian).
    """
    if len(raw) < 12 or raw[0] != 0 or raw[1] not in (0, 1):
        return None
    sec, nanosec = struct.unpack_from("<iI" if raw[1] == 1 else ">iI", raw, 4)
    return sec + nanosec * 1e-9


class _Lookahead:
    """Raw messages of one topic within a receive-time window around the current frame."""

    def __init__(self, messages: Iterator[tuple[int, bytes]], window_ns: int,
                 max_frames: int) -> None:
        self._messages = messages
        self._window = window_ns
        self.held: deque[tuple[int, bytes]] = deque(maxlen=max_frames)
        self._next: tuple[int, bytes] | None = None
        self.fault: str | None = None

    def advance(self, log_time_ns: int, ahead: bool = True) -> None:
        """Take in messages logged up to ``log_time_ns`` (+ the window when ``ahead``)."""
        limit = log_time_ns + (self._window if ahead else 0)
        while True:
            if self._next is None:
                self._next = self._pull()
                if self._next is None:
                    break
            if self._next[0] > limit:
                break
            self.held.append(self._next)
            self._next = None
        while self.held and self.held[0][0] < log_time_ns - self._window:
            self.held.popleft()

    def _pull(self) -> tuple[int, bytes] | None:
        if self.fault is not None:
            return None
        try:
            return next(self._messages, None)
        except BagReadError as err:   # the topic ends here; colour frames go on in 2D
            self.fault = str(err)
            return None


class _CameraTrack:
    """The newest valid CameraModel of a CameraInfo topic logged at or before a time."""

    def __init__(self, bag: ImageBag, topic: TopicInfo, store, window_ns: int) -> None:
        self.topic = topic.name
        self._messages = bag.messages(topic)
        self._store = store
        self._window = window_ns
        self._next: tuple[int, bytes] | None = None
        self._ended = False
        self.camera: CameraModel | None = None
        self.refused = 0
        self.error: str | None = None    # the latest refusal's reason

    def at(self, log_time_ns: int) -> CameraModel | None:
        self._take(log_time_ns)
        if self.camera is None:        # none yet: a driver logs them together, look ahead
            self._take(log_time_ns + self._window, until_valid=True)
        return self.camera

    def _take(self, limit: int, until_valid: bool = False) -> None:
        while not (until_valid and self.camera is not None):
            if self._next is None and not self._ended:
                try:
                    self._next = next(self._messages, None)
                except BagReadError as err:
                    self._next, self.error = None, str(err)
                self._ended = self._next is None
            if self._next is None or self._next[0] > limit:
                return
            self._use(self._next[1])
            self._next = None

    def _use(self, raw: bytes) -> None:
        try:
            camera = CameraModel.from_camera_info(self._store.deserialize_cdr(raw, CAMERA_INFO))
        except CameraInfoError as err:
            self.refused, self.error = self.refused + 1, str(err)
            self.camera = None
            return
        except Exception as err:  # noqa: BLE001 - corrupt CDR is one bad message
            self.refused, self.error = self.refused + 1, f"cannot be deserialised: {err}"
            return
        if camera is None:
            self.error = "uncalibrated (K is all zero)"
        self.camera = camera


class BagDepth:
    """Depth samples for the colour frames of one bag, read alongside them (see module doc)."""

    def __init__(self, path, depth: TopicInfo, camera_info: TopicInfo,
                 depth_camera_info: TopicInfo | None, store, tolerance_s: float,
                 window_ns: int = LOOKAHEAD_NS, max_frames: int = MAX_FRAMES) -> None:
        self.topic = depth.name
        self.tolerance_s = float(tolerance_s)
        self._store = store
        self._bags: list[ImageBag] = []
        self._depth = _Lookahead(self._open(path).messages(depth), window_ns, max_frames)
        self._camera = _CameraTrack(self._open(path), camera_info, store, window_ns)
        self._depth_camera = (_CameraTrack(self._open(path), depth_camera_info, store, window_ns)
                              if depth_camera_info is not None else None)

    def _open(self, path) -> ImageBag:
        bag = ImageBag(path)       # its own reader: iterates beside the colour frames
        bag.open()
        self._bags.append(bag)
        return bag

    def close(self) -> None:
        for bag in self._bags:
            bag.close()

    def sample(self, stamp_s: float, log_time_ns: int) -> DepthSample:
        """Depth for the colour frame stamped ``stamp_s``, logged at ``log_time_ns``."""
        self._depth.advance(log_time_ns)
        camera = self._camera.at(log_time_ns)
        depth_camera = self._depth_camera.at(log_time_ns) if self._depth_camera else None
        raw = self._nearest(stamp_s)
        if raw is None:
            return DepthSample("unmatched")
        if camera is None:
            return DepthSample("no_camera_info", reason=self._camera.error or
                               f"no CameraInfo on {self._camera.topic} yet")
        try:
            msg = self._store.deserialize_cdr(raw, IMAGE)
        except Exception as err:  # noqa: BLE001 - corrupt CDR is one refused depth frame
            return DepthSample("refused", reason=f"cannot be deserialised as {IMAGE}: {err}")
        try:
            depth = decode_depth(msg.width, msg.height, msg.step, msg.encoding,
                                 bool(msg.is_bigendian), msg.data)
        except DepthError as err:
            return DepthSample("refused", reason=str(err))
        return DepthSample("paired", depth, camera, depth_camera)

    def _nearest(self, stamp_s: float) -> bytes | None:
        best, best_gap = None, self.tolerance_s
        for _, raw in self._depth.held:
            depth_stamp = cdr_stamp(raw)
            if depth_stamp is not None and abs(depth_stamp - stamp_s) <= best_gap:
                best, best_gap = raw, abs(depth_stamp - stamp_s)
        return best

    def report(self) -> dict:
        """Return the reading problems for the summary (depth and CameraInfo topics)."""
        cameras = [c for c in (self._camera, self._depth_camera) if c is not None]
        return {"depth_read_fault": self._depth.fault,
                "camera_info": {c.topic: {"refused": c.refused, "last_error": c.error}
                                for c in cameras}}
