"""The one place a test session picks its DDS domain: every test that starts ROS shares it.

A domain per session (from the pid) and localhost-only discovery keep parallel runs on one
machine from hearing each other. Ids 1-100: their ports stay clear of the ephemeral range.
``make test`` sets ROS_DOMAIN_ID itself; a value already set is kept.
"""
from __future__ import annotations

import os


def isolate() -> None:
    """Set ROS_DOMAIN_ID (unless set) and localhost-only discovery for this process."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"   # Jazzy and later
    os.environ.pop("ROS_LOCALHOST_ONLY", None)                   # deprecated there; warns
