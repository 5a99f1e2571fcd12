"""Without the Node.js references, the bench says which make target installs them.

``posenet-ros bench`` said "run `make setup`", which does not install them (``make bench`` and
``make test`` run the ``npm ci``): following the advice changed nothing.
"""
from __future__ import annotations

import shutil

from posenet_ros.reference.movenet_runner import ReferenceMoveNet
from posenet_ros.reference.nodejs_process import find_modules, PACKAGE_DIR
from posenet_ros.reference.runner import ReferencePoseNet, ReferenceUnavailable
import pytest


@pytest.mark.parametrize("runner", [ReferencePoseNet, ReferenceMoveNet],
                         ids=lambda r: r.__name__)
def test_missing_reference_names_make_bench(runner, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("Node.js is not on PATH (that is the message then)")
    if (PACKAGE_DIR / "node_modules").is_dir():
        pytest.skip(f"{PACKAGE_DIR}/node_modules exists: the reference is found there")
    assert find_modules("@tensorflow-models/posenet", tmp_path) is None
    with pytest.raises(ReferenceUnavailable) as caught:
        runner(home=tmp_path)          # an empty POSENET_ROS_HOME: nothing installed
    message = str(caught.value)
    assert "`make bench`" in message and "make setup" not in message, message
    assert str(PACKAGE_DIR / "package-lock.json") in message
