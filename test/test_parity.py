"""posenet_ros against the original: TF.js PoseNet 2.2.2 running in Node on the same frames.

Two comparisons at input resolutions 257 and 513, single and multi-pose decoding:
- identical input: both sides get the same RxR float image, so tfjs' resize is an identity and
  only the network and decoders are compared (1e-3 score, 0.5 px for every keypoint);
- end to end: both sides get the original image and do their own padding and resizing
  (pose scores within 0.03, keypoints scored >= 0.5 within 3 px).
Run with ``-s`` for a table of the largest differences seen. The harness is checked on its own
first, so a broken reference cannot make parity hold vacuously.
"""
from __future__ import annotations

import cv2
import numpy as np
from posenet_ros.core.keypoints import NUM_KEYPOINTS, PART_NAMES
from posenet_ros.reference.runner import ReferenceFailed, ReferencePoseNet, ReferenceUnavailable
import pytest

pytest_plugins = ["parity_fixtures"]   # reference, parity_frames, parity_report

RESOLUTIONS = (257, 513)
MODES = ("single", "multi")
IDENTICAL = {"score": 1e-3, "keypoint_score": 1e-3, "px": 0.5}
END_TO_END = {"score": 0.03, "px": 3.0, "min_keypoint_score": 0.5}


def as_arrays(pose: dict) -> tuple[float, np.ndarray, np.ndarray]:
    """Split a tfjs pose dict: score, (17, 2) x/y, (17,) keypoint scores in PART_NAMES order."""
    by_part = {k["part"]: k for k in pose["keypoints"]}
    xy = np.array([[by_part[p]["position"]["x"], by_part[p]["position"]["y"]] for p in PART_NAMES])
    return float(pose["score"]), xy, np.array([by_part[p]["score"] for p in PART_NAMES])


def pair_up(ref: list[dict], other: list[dict]) -> tuple[list[tuple[dict, dict]], bool]:
    """Pair poses in order, or greedily by mean keypoint distance; also say if order differed.

    Nearly equal root scores could swap the decoding order of two people.
    """
    pairs = list(zip(ref, other))
    if all(_mean_distance(a, b) < 10.0 for a, b in pairs):
        return pairs, False
    cost = np.array([[_mean_distance(a, b) for b in other] for a in ref])
    pairs, used = [], set()
    for i in np.argsort(cost.min(axis=1)):
        j = min((j for j in range(len(other)) if j not in used), key=lambda j: cost[i, j])
        used.add(j)
        pairs.append((ref[i], other[j]))
    return pairs, True


def _mean_distance(a: dict, b: dict) -> float:
    return float(np.linalg.norm(as_arrays(a)[1] - as_arrays(b)[1], axis=1).mean())


def compare(frames, ref_side, our_side, min_keypoint_score: float = 0.5) -> dict:
    """Run both sides on every frame; return the largest differences and what was compared."""
    stats = {"frames": 0, "poses": 0, "kps>=0.5": 0, "max|dscore|": 0.0,
             "max|dkp score|": 0.0, "max dpx all": 0.0, "max dpx >=0.5": 0.0,
             "counts": [], "reordered": []}
    for name, image in frames:
        expected, got = ref_side(image), our_side(image)
        stats["frames"] += 1
        if len(expected) != len(got):
            stats["counts"].append(f"{name}: tfjs {len(expected)} poses, ours {len(got)}")
            continue
        pairs, reordered = pair_up(expected, got)
        if reordered:
            stats["reordered"].append(name)
        for a, b in pairs:
            (sa, xa, ka), (sb, xb, kb) = as_arrays(a), as_arrays(b)
            distance = np.linalg.norm(xa - xb, axis=1)
            confident = ka >= min_keypoint_score
            stats["poses"] += 1
            stats["kps>=0.5"] += int(confident.sum())
            stats["max|dscore|"] = max(stats["max|dscore|"], abs(sa - sb))
            stats["max|dkp score|"] = max(stats["max|dkp score|"], float(np.abs(ka - kb).max()))
            stats["max dpx all"] = max(stats["max dpx all"], float(distance.max()))
            if confident.any():
                worst = float(distance[confident].max())
                stats["max dpx >=0.5"] = max(stats["max dpx >=0.5"], worst)
    return stats


def square_float_input(rgb: np.ndarray, resolution: int) -> np.ndarray:
    """Zero-pad the frame to a centred square and resize it to RxR, as float32 0..255.

    Made with OpenCV, independently of both implementations: any RxR image works, as long as
    both sides receive exactly this one and neither resizes it again.
    """
    h, w = rgb.shape[:2]
    side = max(h, w)
    square = np.zeros((side, side, 3), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = rgb
    return cv2.resize(square, (resolution, resolution), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def estimator(estimator_factory):
    def make(mode: str, resolution, **settings):
        return estimator_factory(decoder=mode, input_resolution=resolution, **settings)
    return make


def ours(est):
    return lambda image: [pose.to_dict() for pose in est.estimate(image).poses]


def tfjs(reference, mode: str, resolution, **options):
    return lambda image: reference.estimate(image, mode, resolution, **options)[0]


def check_bounds(stats: dict, bounds: dict[str, float]) -> None:
    """Assert each measured maximum is within its bound, naming both in the message."""
    assert not stats["counts"], f"pose counts differ: {stats['counts']}"
    for key, bound in bounds.items():
        assert stats[key] <= bound, f"{key} = {stats[key]:.4g} exceeds {bound}"


def test_reference_answers_with_real_poses(reference, parity_frames):
    """17 named keypoints, scores in [0, 1], positions finite, people found: a sane harness."""
    best = []
    for name, image in parity_frames:
        single, ms = reference.estimate(image, mode="single")
        assert len(single) == 1 and ms > 0
        multi, _ = reference.estimate(image, mode="multi")
        assert len(multi) <= 5
        for pose in single + multi:
            score, xy, scores = as_arrays(pose)
            assert [k["part"] for k in pose["keypoints"]] == list(PART_NAMES)
            assert len(pose["keypoints"]) == NUM_KEYPOINTS
            assert 0.0 <= score <= 1.0 and ((scores >= 0) & (scores <= 1)).all()
            assert np.isfinite(xy).all()
        best.append(single[0]["score"])
        assert single[0]["score"] > 0.3, f"{name}: no person found by the reference"
    assert len(set(best)) == len(best), "different frames gave identical scores"


def test_reference_rejects_bad_options_and_keeps_serving(reference, parity_frames):
    image = parity_frames[0][1]
    with pytest.raises(ReferenceFailed, match="nmsRadius"):
        reference.estimate(image, mode="multi", nms_radius=-1)
    with pytest.raises(TypeError, match="unknown option"):
        reference.estimate(image, nms=3)
    with pytest.raises(ValueError, match="HxWx3"):
        reference.estimate(image[..., 0])
    poses, _ = reference.estimate(image, mode="single")
    assert len(poses) == 1


def test_reference_unavailable_says_what_is_missing(tmp_path):
    with pytest.raises(ReferenceUnavailable, match="not installed|weights .* missing"):
        ReferencePoseNet(home=tmp_path)


def test_wasm_reference_matches_tfjs_cpu_kernels(reference, parity_frames):
    """Wasm (XNNPACK) and tfjs' plain-JavaScript kernels give the same poses.

    So the reference is TF.js PoseNet itself, not an artefact of one backend (cpu: one frame).
    """
    try:
        cpu = ReferencePoseNet(backend="cpu")
    except ReferenceUnavailable as err:
        pytest.skip(str(err))
    with cpu:
        stats = compare(parity_frames[-1:], tfjs(reference, "multi", 257),
                        tfjs(cpu, "multi", 257))
    assert stats["poses"] > 0
    check_bounds(stats, {"max|dscore|": 1e-4, "max dpx all": 0.05})


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_identical_input_parity(reference, estimator, parity_frames, parity_report,
                                mode, resolution):
    frames = [(name, square_float_input(image, resolution)) for name, image in parity_frames]
    stats = compare(frames, tfjs(reference, mode, resolution), ours(estimator(mode, resolution)))
    parity_report.append({"check": "identical input", "mode": mode, "res": resolution, **stats})
    assert not stats["reordered"], f"pose order differs on {stats['reordered']}"
    assert stats["poses"] >= len(frames) // 2, "too few poses compared"
    check_bounds(stats, {"max|dscore|": IDENTICAL["score"],
                         "max|dkp score|": IDENTICAL["keypoint_score"],
                         "max dpx all": IDENTICAL["px"]})


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_end_to_end_parity(reference, estimator, parity_frames, parity_report, mode, resolution):
    stats = compare(parity_frames, tfjs(reference, mode, resolution),
                    ours(estimator(mode, resolution)), END_TO_END["min_keypoint_score"])
    parity_report.append({"check": "end to end", "mode": mode, "res": resolution, **stats})
    assert stats["poses"] >= len(parity_frames) and stats["kps>=0.5"] > 0, "too little compared"
    check_bounds(stats, {"max|dscore|": END_TO_END["score"], "max dpx >=0.5": END_TO_END["px"]})


def test_end_to_end_parity_with_non_default_options(reference, estimator, parity_frames,
                                                    parity_report):
    """Flip, a non-square input and every multi-pose knob reach both sides the same way."""
    resolution = (353, 257)   # width x height
    knobs = {"flip_horizontal": True, "max_detections": 8, "score_threshold": 0.3,
             "nms_radius": 30.0}
    stats = compare(parity_frames, tfjs(reference, "multi", resolution, **knobs),
                    ours(estimator("multi", resolution, **knobs)),
                    END_TO_END["min_keypoint_score"])
    parity_report.append({"check": "e2e flip+knobs", "mode": "multi", "res": "353x257", **stats})
    assert stats["poses"] > len(parity_frames)
    check_bounds(stats, {"max|dscore|": END_TO_END["score"], "max dpx >=0.5": END_TO_END["px"]})
