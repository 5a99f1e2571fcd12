"""``posenet_ros/PersonEvent`` from a reactions event, with the caller's generated classes.

Like :mod:`.pose_array`, the classes come from the caller (rclpy's for the node, rosbags'
offline), so this stays free of rclpy. The event is read by its fields (kind, started,
track_id, side, direction, direction_3d, position; see ``reactions.reactor.Event``). A
position or direction that is not finite is left out (``valid_3d`` false, a zero
direction), never published as NaN.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class EventClasses(NamedTuple):
    """The generated classes a PersonEvent is made of."""

    person_event: type
    vector3: type
    point: type


def build_person_event(classes: EventClasses, event: Any, header) -> Any:
    """Fill a PersonEvent for ``event``, stamped with the PoseArray's ``header``."""
    direction, position = _finite(event.direction), _finite(event.position)
    return classes.person_event(
        header=header, kind=str(event.kind), started=bool(event.started),
        track_id=int(event.track_id), side=str(event.side),
        direction_3d=direction is not None and bool(event.direction_3d),
        direction=classes.vector3(**dict(zip("xyz", direction or (0.0, 0.0, 0.0)))),
        valid_3d=position is not None,
        position=classes.point(**dict(zip("xyz", position or (0.0, 0.0, 0.0)))))


def _finite(vector: np.ndarray | None) -> list[float] | None:
    if vector is None:
        return None
    values = np.asarray(vector, dtype=np.float64)[:3]
    return values.tolist() if np.isfinite(values).all() else None
