"""The installed camera_node over real DDS.

vtest.avi frames and CameraInfo; camera_node and posenet_node started as ``ros2 run`` starts
them (no remapping) connect; and the pipeline wired by remapping, as camera.launch.py wires it.
"""
from __future__ import annotations

import hashlib
import math

import cv2
from dds_probe import CameraInfo, Image, key, pose_of_marker, Probe, vtest_frames, wait_for
import numpy as np
from posenet_ros.ros.parameters import BY_NAME
import pytest


def frame_of(msg) -> np.ndarray:
    """View a packed bgr8 Image as an HxWx3 array."""
    return np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, 3)


@pytest.fixture(scope="module")
def frame_index() -> dict[bytes, int]:
    """Every frame of the sample video by its digest: which one a message carries.

    Discovery can take seconds on a loaded machine, so the first frame a subscriber gets may
    be any of them (the video loops).
    """
    vtest_frames([0])                       # skips when setup has not fetched the video
    from posenet_ros.core import paths
    capture = cv2.VideoCapture(str(paths.sample_video()))
    index = {}
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        index.setdefault(hashlib.sha1(frame.tobytes()).digest(), len(index))
    capture.release()
    return index


def test_publishes_video_frames_with_camera_info(start_node, frame_index):
    ns = "/cam_default"
    node = start_node(ns, script="camera_node", rate=20.0, frame_id="cam_test_optical")
    probe = Probe(ns)
    try:
        images = probe.collect(Image, "image")
        infos = probe.collect(CameraInfo, "camera_info")
        wait_for(lambda: len(images) >= 5 and len(infos) >= 5, 60, probe.spin, "five frames")
    finally:
        probe.close()
    assert node.stop() == 0, node.log()
    image = images[0]
    assert (image.width, image.height, image.encoding, image.step) == (768, 576, "bgr8", 768 * 3)
    assert image.header.frame_id == "cam_test_optical"
    # Each published frame is one of the video's frames, in order.
    indices = [frame_index.get(hashlib.sha1(frame_of(m).tobytes()).digest())
               for m in images[:5]]
    assert None not in indices, "a published frame is none of the video's"
    steps = [(b - a) % len(frame_index) for a, b in zip(indices, indices[1:])]
    assert all(0 < step < len(frame_index) // 2 for step in steps), indices
    stamps = [key(m.header.stamp) for m in images[:5]]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5
    # CameraInfo shares the image header; without calibration: a 60 degree pinhole.
    by_stamp = {key(i.header.stamp): i for i in infos}
    info = by_stamp[stamps[-1]] if stamps[-1] in by_stamp else infos[-1]
    focal = 384 / math.tan(math.radians(30))
    assert (info.width, info.height) == (768, 576)
    assert info.k[0] == pytest.approx(focal) and info.k[4] == pytest.approx(focal)
    assert info.header.frame_id == "cam_test_optical"
    assert "pinhole guess" in node.log()


def test_calibration_file_is_scaled_to_the_frame_size(start_node, tmp_path):
    calibration = tmp_path / "calib.yaml"
    calibration.write_text(
        "image_width: 1536\nimage_height: 1152\ncamera_name: test\n"
        "camera_matrix: {rows: 3, cols: 3, data: [1000.0, 0, 770.0, 0, 1010.0, 580.0, 0, 0, 1]}\n"
        "distortion_model: plumb_bob\n"
        "distortion_coefficients: {rows: 1, cols: 5, data: [-0.1, 0.01, 0, 0, 0]}\n")
    ns = "/cam_calib"
    node = start_node(ns, script="camera_node", calibration_file=str(calibration))
    probe = Probe(ns)
    try:
        infos = probe.collect(CameraInfo, "camera_info")
        wait_for(lambda: infos, 60, probe.spin, "camera_info")
    finally:
        probe.close()
    assert node.stop() == 0, node.log()
    assert list(infos[0].k) == pytest.approx([500.0, 0, 385.0, 0, 505.0, 290.0, 0, 0, 1])
    assert list(infos[0].d) == pytest.approx([-0.1, 0.01, 0, 0, 0])


@pytest.mark.parametrize("params,reason", [
    ({"source": "/nonexistent/video.avi"}, "video file /nonexistent/video.avi does not exist"),
    ({"calibration_file": "/nonexistent/calib.yaml"}, "cannot read calibration"),
])
def test_bad_source_or_calibration_stops_with_a_reason(start_node, params, reason):
    node = start_node("/cam_bad", script="camera_node", **params)
    wait_for(lambda: not node.alive(), 60, what="camera_node to exit")
    assert node.proc.returncode == 2, node.log()
    assert reason in node.log() and "Traceback" not in node.log()


def test_ros2_run_defaults_connect(start_node):
    """`ros2 run posenet_ros camera_node` + `ros2 run posenet_ros posenet_node`: poses."""
    cam = start_node("/defaults", script="camera_node", rate=5.0)
    pose = start_node("/defaults", providers=["cpu"])     # config/posenet.yaml, no remaps
    probe = Probe("/defaults")
    try:
        wait_for(lambda: len(probe.pose_order) >= 2, 90, probe.spin,
                 "PoseArrays from camera_node and posenet_node started without remapping")
    finally:
        probe.close()
    assert pose.stop() == 0, pose.log()
    assert cam.stop() == 0, cam.log()
    assert (probe.pose_order[0].image_width, probe.pose_order[0].image_height) == (768, 576)


def test_camera_to_posenet_pipeline(start_node):
    """Two installed nodes wired like camera.launch.py: poses carry the camera's stamps."""
    cam = start_node("/pipeline/camera", script="camera_node", rate=5.0)
    pose = start_node("/pipeline", providers=["cpu"], qos_reliability="reliable",
                      remaps={"image": "/pipeline/camera/image",
                              "camera_info": "/pipeline/camera/camera_info"})
    probe = Probe("/pipeline")

    def with_spheres():
        return [(stamp, markers) for stamp, markers in list(probe.markers.items())
                if stamp in probe.poses and any(m.type == m.SPHERE_LIST for m in markers.markers)]
    try:
        images = probe.collect(Image, "camera/image")
        probe.subscribe("markers")
        wait_for(lambda: len(probe.pose_order) >= 3 and len(with_spheres()) >= 2, 90, probe.spin,
                 "poses and keypoint markers from the camera stream")
    finally:
        probe.close()
    assert pose.stop() == 0, pose.log()
    assert cam.stop() == 0, cam.log()
    sent = {key(m.header.stamp) for m in images}
    lo, hi = min(sent), max(sent)
    overlap = [key(p.header.stamp) for p in probe.pose_order if lo <= key(p.header.stamp) <= hi]
    assert overlap and set(overlap) <= sent
    assert probe.pose_order[0].header.frame_id == "camera_optical_frame"
    assert (probe.pose_order[0].image_width, probe.pose_order[0].image_height) == (768, 576)
    # Markers use the camera's CameraInfo (the 60 degree pinhole): each sphere lies on the ray
    # through its keypoint's pixel, at marker_depth. The node uses the latest CameraInfo,
    # which the very first frame may precede: check the later ones.
    focal, cx, cy = 384 / math.tan(math.radians(30)), 383.5, 287.5
    checked = 0
    for stamp, markers in sorted(with_spheres())[1:]:
        spheres = [m for m in markers.markers if m.type == m.SPHERE_LIST]
        pose = pose_of_marker(probe.poses[stamp], spheres[0].id)
        visible = [k for k in pose.keypoints if k.score >= BY_NAME["min_keypoint_score"].default]
        pixels = [(p.x / p.z * focal + cx, p.y / p.z * focal + cy) for p in spheres[0].points]
        np.testing.assert_allclose(pixels, [(k.x, k.y) for k in visible], atol=1e-3)
        depth = BY_NAME["marker_depth"].default
        assert all(p.z == pytest.approx(depth) for p in spheres[0].points)
        checked += 1
    assert checked
