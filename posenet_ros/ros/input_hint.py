"""What to tell a user whose pose node hears nothing: which image topics *do* exist.

A node subscribed to a topic nobody publishes is silent: 0 poses, no error. The usual causes
are a name (the camera publishes ``/cam/image_raw``, the node listens on ``/image``) or the
transport (only ``/cam/image_raw/compressed`` is published). :func:`input_hint` reads the ROS
graph and names the fix in one line; :class:`InputHints` logs that line once per silence, when
a subscription has had no publisher for ``after`` seconds.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
import os
import time

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
SUFFIX = "/compressed"
HINT_AFTER = 5.0   # seconds without a publisher before the hint (discovery takes ~1 s)
MAX_LISTED = 4     # topics named in one line


def input_hint(subscribed: str, compressed: bool, topics: Iterable[tuple[str, Sequence[str]]],
               publishers: Callable[[str], int], remap_from: str = "image") -> str:
    """One line naming the image topics that exist and the remap or transport that fits.

    ``subscribed`` is the resolved topic of the node's subscription (``<image>/compressed``
    when ``compressed``), ``topics`` the graph's ``get_topic_names_and_types()``,
    ``publishers`` counts a topic's publishers (topics only others subscribe to are no
    source), ``remap_from`` the name a user remaps (``image``, or an ``image_topics`` entry).
    """
    raw, packed = [], []
    for name, types in topics:
        if name == subscribed or not publishers(name):
            continue
        if IMAGE in types:
            raw.append(name)
        if COMPRESSED in types:
            packed.append(name)
    raw.sort()
    packed.sort()
    base = subscribed[:-len(SUFFIX)] if compressed else subscribed
    head = f"no publisher on {subscribed}"
    if not compressed and base + SUFFIX in packed:
        return f"{head}, but {base}{SUFFIX} is published: set image_transport:=compressed"
    if compressed and base in raw:
        return (f"{head}, but {base} is published uncompressed: set image_transport:=raw (or "
                f"run image_transport's republish to {subscribed})")
    same, other = (packed, raw) if compressed else (raw, packed)
    if not same and not other:
        domain = os.environ.get("ROS_DOMAIN_ID", "0")
        return (f"{head}, and no sensor_msgs/Image or CompressedImage topic has a publisher in "
                f"ROS_DOMAIN_ID {domain}: is the camera running, on this domain (and, across "
                f"machines, does discovery reach it: ROS_AUTOMATIC_DISCOVERY_RANGE)?")
    if same:
        key = remap_from + SUFFIX if compressed else remap_from
        target = same[0] if len(same) == 1 else "<one of them>"
        kind = "CompressedImage" if compressed else "Image"
        return (f"{head}; {kind} topics that exist: {_listed(same)}: remap {key}:={target} "
                f"(--ros-args -r {key}:={target})")
    if compressed:   # only raw images: take them raw
        return (f"{head}; only uncompressed Image topics exist: {_listed(other)}: set "
                f"image_transport:=raw and remap {remap_from}:="
                f"{other[0] if len(other) == 1 else '<one of them>'}")
    return (f"{head}; only CompressedImage topics exist: {_listed(other)}: set "
            f"image_transport:=compressed and remap {remap_from}{SUFFIX}:="
            f"{other[0] if len(other) == 1 else '<one of them>'}")


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


class InputHints:
    """Log :func:`input_hint` once per silence of each subscription of ``node``.

    A silence starts when a subscription is first seen without a publisher; the hint is
    logged ``after`` seconds into it, and again only after a publisher came and went.
    """

    def __init__(self, node, after: float = HINT_AFTER) -> None:
        self._node = node
        self._after = after
        self._silent_since: dict[str, float] = {}
        self._told: set[str] = set()

    def check(self, subscription, remap_from: str = "image",
              now: float | None = None) -> str | None:
        """Look at ``subscription`` now; return (and log) the hint when it is due."""
        now = time.monotonic() if now is None else now
        topic = subscription.topic_name
        if self._node.count_publishers(topic):
            self._silent_since.pop(topic, None)
            self._told.discard(topic)
            return None
        since = self._silent_since.setdefault(topic, now)
        if topic in self._told or now - since < self._after:
            return None
        self._told.add(topic)
        compressed = getattr(subscription.msg_type, "__name__", "") == "CompressedImage"
        node = self._node
        # The node's own outputs (image_annotated is an Image too) are no source.
        own = {name for name, _ in node.get_publisher_names_and_types_by_node(
            node.get_name(), node.get_namespace())}
        hint = input_hint(topic, compressed, node.get_topic_names_and_types(),
                          lambda name: node.count_publishers(name) - (name in own), remap_from)
        self._node.get_logger().warning(f"{hint} [after {now - since:.0f} s]")
        return hint
