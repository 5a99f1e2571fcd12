"""The engine's Python ``logging`` records, logged through ROS like every other line of a node.

The engine is ROS-free and logs with :mod:`logging` (a provider falling back to the CPU, a
model loaded). In a node those records go to the node's rclpy logger instead, as child
loggers named after the engine module (``posenet_node.posenet_ros.estimator``): ROS levels
(WARN, FATAL), ROS timestamps, the ``ros2 launch`` output and ``/rosout``. Before a node
exists (start-up errors) they go to rclpy's logger of the record's own name: the console in
ROS format, as rcl's own early errors.
"""
from __future__ import annotations

import logging

import rclpy.logging

_SEVERITY = ((logging.CRITICAL, "fatal"), (logging.ERROR, "error"), (logging.WARNING, "warning"),
             (logging.INFO, "info"), (logging.DEBUG, "debug"))


class RosLogHandler(logging.Handler):
    """Forward each record to an rclpy logger at the matching ROS severity."""

    def __init__(self, node_logger=None) -> None:
        super().__init__()
        self._node_logger = node_logger
        self._loggers: dict[str, object] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            method = next(name for level, name in _SEVERITY if record.levelno >= level)
            getattr(self._logger(record.name), method)(text)
        except Exception:   # noqa: B902 -- logging must never raise into the caller
            self.handleError(record)

    def _logger(self, name: str):
        logger = self._loggers.get(name)
        if logger is None:
            logger = (self._node_logger.get_child(name) if self._node_logger is not None
                      else rclpy.logging.get_logger(name))
            self._loggers[name] = logger
        return logger


def route_python_logging(node_logger=None, level: int = logging.INFO) -> None:
    """Send every Python log record of this process through ROS from now on.

    ``node_logger`` (a node's ``get_logger()``) puts them on ``/rosout`` too; without one they
    reach the console only.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(RosLogHandler(node_logger))
    root.setLevel(level)
