"""Pose streams for the reactions tests, made from a real PoseNet detection.

The person is PoseNet's best detection on basketball2.png (arms bent, holding a ball).
Gestures are composed by moving that person's own arm keypoints: raised (elbow mirrored
above the shoulder, forearm straight up), pointing (the arm straight out sideways, its
real segment lengths kept), and the whole body shifted or scaled to move the person.
"""
from __future__ import annotations

import numpy as np
from posenet_ros.core import paths
from posenet_ros.core.keypoints import PART_IDS
from posenet_ros.core.pose import Pose
from posenet_ros.estimator import PoseEstimator
from posenet_ros.imaging.files import read_image
from posenet_ros.reactions.person import Person

WIDTH, HEIGHT = 640, 480
FX = 525.0          # the 3D positions below use this pinhole (cx, cy at the image centre)
ARM = {side: [PART_IDS[side + p] for p in ("Shoulder", "Elbow", "Wrist")]
       for side in ("left", "right")}


def detect_person() -> Pose:
    """Run the real estimator on basketball2.png and return its best pose."""
    image = read_image(paths.require(paths.data_dir() / "basketball2.png", "basketball2.png"))
    result = PoseEstimator(decoder="multi", input_resolution=513).estimate(image)
    poses = list(result.poses)
    return max(poses, key=lambda pose: pose.score)


def raise_arm(keypoints: np.ndarray, side: str) -> np.ndarray:
    shoulder, elbow, wrist = ARM[side]
    out = keypoints.copy()
    forearm = np.linalg.norm(keypoints[wrist] - keypoints[elbow])
    out[elbow, 1] = 2 * keypoints[shoulder, 1] - keypoints[elbow, 1]
    out[wrist] = out[elbow] - (0.0, forearm)
    return out


def point_arm(keypoints: np.ndarray, side: str) -> np.ndarray:
    """Straight arm out to the person's ``side`` (image left for the right arm)."""
    shoulder, elbow, wrist = ARM[side]
    out = keypoints.copy()
    upper = np.linalg.norm(keypoints[elbow] - keypoints[shoulder])
    forearm = np.linalg.norm(keypoints[wrist] - keypoints[elbow])
    outward = np.sign(keypoints[shoulder, 0] - keypoints[ARM[_other(side)][0], 0])
    out[elbow] = keypoints[shoulder] + (outward * upper, 0.0)
    out[wrist] = keypoints[shoulder] + (outward * (upper + forearm), 0.0)
    return out


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def place(keypoints: np.ndarray, centre_x: float, scale: float = 1.0) -> np.ndarray:
    """Move the body so its mean x is ``centre_x`` and scale it about its centre."""
    centre = keypoints.mean(axis=0)
    return (keypoints - centre) * scale + (centre_x, HEIGHT / 2.0)


def person(pose: Pose, keypoints: np.ndarray | None = None, track_id: int = 1,
           distance: float | None = None) -> Person:
    """Make a Person; with ``distance``, 3D points on the plane z = distance through FX."""
    xy = pose.positions if keypoints is None else keypoints
    if distance is None:
        return Person(track_id, xy, pose.keypoint_scores)
    normalized = (xy - (WIDTH / 2.0, HEIGHT / 2.0)) / FX
    points = np.column_stack([normalized * distance, np.full(len(xy), distance)])
    torso = [PART_IDS[p] for p in ("leftShoulder", "rightShoulder", "leftHip", "rightHip")]
    return Person(track_id, xy, pose.keypoint_scores, points, np.ones(len(xy), bool),
                  points[torso].mean(axis=0))
