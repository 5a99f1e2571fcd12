"""Shared fixtures (the converted models and real frames under $POSENET_ROS_HOME) and test kinds.

Tests needing them skip with the reason when setup has not run (``make test`` always runs it).
Other suites keep their own fixtures in ``*_fixtures.py`` modules next to their tests.

Every test has one kind, a marker: ``unit`` (no model files, no processes), ``engine``
(loads models) or ``integration`` (other processes: nodes over DDS, the CLI, Node.js
references, installs). A test's own marker wins, then its module's entry in MODULE_KINDS
(modules that start processes or load models without the fixtures below), then the fixtures
it uses. ``make test-fast`` runs ``-m unit``.
"""
from __future__ import annotations

import dds_domain
from posenet_ros.core import paths
import pytest

dds_domain.isolate()

KINDS = ("unit", "engine", "integration")
_INTEGRATION_FIXTURES = {"ros_context", "start_node", "reference", "movenet_reference",
                         "parity_report"}
_ENGINE_FIXTURES = {"models", "video_frames", "still_with_people", "estimator_factory"}
MODULE_KINDS = {
    **dict.fromkeys(("test_bag.py", "test_bag_depth.py", "test_bag_replay.py",
                     "test_bag_tracks.py", "test_build.py", "test_cli.py", "test_filters.py",
                     "test_gpu_fallback.py", "test_hostile_files.py", "test_install.py",
                     "test_movenet_cli.py", "test_fleet.py", "test_fleet_cluster.py"),
                    "integration"),
    **dict.fromkeys(("test_bench_movenet.py", "test_depth_lift.py", "test_int8.py",
                     "test_track_eval.py", "test_track_scores.py"), "engine"),
}


def pytest_configure(config) -> None:
    for kind, what in zip(KINDS, ("no model files, no processes", "loads models",
                                  "processes, DDS, Node.js references")):
        config.addinivalue_line("markers", f"{kind}: {what}")


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if any(item.get_closest_marker(kind) for kind in KINDS):
            continue
        used = set(item.fixturenames)
        kind = MODULE_KINDS.get(item.path.name) or (
            "integration" if used & _INTEGRATION_FIXTURES or item.path.parent.name == "ros"
            else "engine" if used & _ENGINE_FIXTURES else "unit")
        item.add_marker(kind)


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
def messi():
    """messi5.jpg, RGB: one clearly seen person, for the tracker's looks."""
    from posenet_ros.imaging.files import read_image
    return read_image(_require(paths.data_dir() / "messi5.jpg", "still messi5.jpg"))


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
