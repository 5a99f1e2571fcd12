"""Message packages that only some features need: foxglove_msgs, hri_msgs.

posenet_node runs without them; a feature whose package does not import stays off, and the
first time it is asked for, one line names the package to install (docs/ros-interop.md).
"""
from __future__ import annotations

import importlib
import threading
from types import ModuleType

# What a missing package is for and how to get it, by package.
PURPOSE = {
    "foxglove_msgs": "image_annotations (Foxglove/Lichtblick skeletons over the image)",
    "hri_msgs": "hri:=true (REP-155 /humans/bodies topics)",
}
_lock = threading.Lock()
_loaded: dict[str, ModuleType | None] = {}


def message_module(package: str, logger=None) -> ModuleType | None:
    """Return ``<package>.msg``, or None when it does not import (said once, to ``logger``)."""
    with _lock:
        if package in _loaded:
            return _loaded[package]
        try:
            module = importlib.import_module(f"{package}.msg")
        except ImportError as exc:
            module = None
            if logger is not None:
                logger.warning(
                    f"{PURPOSE.get(package, package)} is off: the message package {package} "
                    f"does not import ({exc}); install ros-$ROS_DISTRO-"
                    f"{package.replace('_', '-')} (or, in the development venv, `make build`)")
        _loaded[package] = module
        return module
