"""The one error a malformed or unsupported TF.js model file raises.

It is a :class:`~posenet_ros.core.config.ConfigError`, so every caller that refuses a bad setting
(the node's parameter handlers, the CLI) refuses a bad model file the same way, with a
message naming the file and what is wrong with it, instead of crashing on a ``KeyError``.
"""
from __future__ import annotations

from posenet_ros.core.config import ConfigError


class GraphError(ConfigError):
    """The model file is malformed, or not a graph this converter understands."""
