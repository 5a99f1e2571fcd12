"""Skip a test whose prerequisite is missing, or fail where the environment promises it.

``make test`` sets ``POSENET_ROS_REQUIRE_REFERENCE=1``, so a broken setup cannot pass the
parity suites by skipping. A plain module (not a pytest plugin), so test modules can import it
before ``pytest_plugins`` loads the fixture modules.
"""
from __future__ import annotations

import os

import pytest


def missing(reason: str) -> None:
    """Skip, or fail where the environment promises the reference is installed."""
    if os.environ.get("POSENET_ROS_REQUIRE_REFERENCE") == "1":
        pytest.fail(f"{reason} (POSENET_ROS_REQUIRE_REFERENCE=1)")
    pytest.skip(reason)
