"""Running a node from ``main()``: start, spin, and shut down cleanly on every distro.

``with rclpy.init()`` does not exist on Jazzy and older, so this is try/finally. Ctrl-C and
an external shutdown (SIGTERM, ``rclpy.shutdown()`` elsewhere) both end with exit code 0; a
node that cannot start (bad command line, settings, missing model) logs one line and
returns 2 instead of a traceback.
"""
from __future__ import annotations

from collections.abc import Callable
import logging

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_node(name: str, make_node: Callable[[], Node], startup_errors: tuple[type[Exception], ...],
             spin: Callable[[Node], None] = rclpy.spin, args: list[str] | None = None) -> int:
    """Create the node with ``make_node`` and ``spin`` it; the node's ``close()`` runs last."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    log = logging.getLogger(name)
    try:
        rclpy.init(args=args)
    except RuntimeError as exc:   # rcl rejects the command line, e.g. a missing params file
        log.critical("cannot start: %s", exc)
        return 2
    node = None
    try:
        try:
            node = make_node()
        except startup_errors as exc:
            log.critical("cannot start: %s", exc)
            return 2
        try:
            spin(node)
        except (KeyboardInterrupt, ExternalShutdownException):
            # rclpy has already shut its context down: log through Python, not /rosout.
            log.info("shutting down")
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
