"""Shared fixtures: the converted models and real frames setup put under $POSENET_ROS_HOME.

Tests needing them skip with the reason when setup has not run (``make test`` always runs it).
Other suites keep their own fixtures in ``*_fixtures.py`` modules next to their tests.
"""
from __future__ import annotations

from posenet_ros.core import paths
import pytest


def _require(path, what):
    if not path.is_file():
        pytest.skip(f"{what} missing at {path}: run `make setup`")
    return path


@pytest.fixture(scope="session")
def models():
    """Paths of the converted fp32 models by stride (skips when setup has not built them)."""
    return {s: _require(paths.default_model(s), f"stride-{s} model") for s in (8, 16, 32)}


@pytest.fixture(scope="session")
def video_frames():
    """Eight frames of vtest.avi spread over the clip, RGB uint8."""
    from posenet_ros.imaging.files import iter_video
    video = _require(paths.sample_video(), "sample video vtest.avi")
    wanted = set(range(0, 795, 100))
    return [f for i, f in enumerate(iter_video(video)) if i in wanted]


@pytest.fixture(scope="session")
def still_with_people():
    from posenet_ros.imaging.files import read_image
    return read_image(_require(paths.data_dir() / "basketball1.png", "still basketball1.png"))


@pytest.fixture(scope="session")
def estimator_factory(models):
    """Build CPU estimators (cached per configuration)."""
    from posenet_ros.core.config import EstimatorConfig
    from posenet_ros.estimator import PoseEstimator
    cache = {}

    def make(**settings):
        key = tuple(sorted(settings.items()))
        if key not in cache:
            cache[key] = PoseEstimator(EstimatorConfig(providers=("cpu",), **settings))
        return cache[key]
    return make
