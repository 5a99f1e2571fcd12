"""PoseNet's body model as data: part names and ids, skeleton edges, the decoding tree.

Names, order and edges are those of tfjs-models ``posenet/src/keypoints.ts`` so that
poses, part ids and JSON output are interchangeable with TensorFlow.js PoseNet.
"""

PART_NAMES: tuple[str, ...] = (
    "nose", "leftEye", "rightEye", "leftEar", "rightEar",
    "leftShoulder", "rightShoulder", "leftElbow", "rightElbow",
    "leftWrist", "rightWrist", "leftHip", "rightHip",
    "leftKnee", "rightKnee", "leftAnkle", "rightAnkle",
)
NUM_KEYPOINTS: int = len(PART_NAMES)
PART_IDS: dict[str, int] = {name: i for i, name in enumerate(PART_NAMES)}

# Limbs drawn between keypoints (tfjs ``connectedPartNames``): what a skeleton overlay shows.
SKELETON: tuple[tuple[int, int], ...] = tuple(
    (PART_IDS[a], PART_IDS[b]) for a, b in (
        ("leftHip", "leftShoulder"), ("leftElbow", "leftShoulder"),
        ("leftElbow", "leftWrist"), ("leftHip", "leftKnee"),
        ("leftKnee", "leftAnkle"), ("rightHip", "rightShoulder"),
        ("rightElbow", "rightShoulder"), ("rightElbow", "rightWrist"),
        ("rightHip", "rightKnee"), ("rightKnee", "rightAnkle"),
        ("leftShoulder", "rightShoulder"), ("leftHip", "rightHip"),
    )
)

# The tree that multi-pose decoding walks (tfjs ``poseChain``), as (parent, child) ids.
# Edge i owns displacement channels i (y) and NUM_EDGES + i (x) in displacement_fwd/bwd.
POSE_CHAIN: tuple[tuple[int, int], ...] = tuple(
    (PART_IDS[a], PART_IDS[b]) for a, b in (
        ("nose", "leftEye"), ("leftEye", "leftEar"), ("nose", "rightEye"),
        ("rightEye", "rightEar"), ("nose", "leftShoulder"),
        ("leftShoulder", "leftElbow"), ("leftElbow", "leftWrist"),
        ("leftShoulder", "leftHip"), ("leftHip", "leftKnee"),
        ("leftKnee", "leftAnkle"), ("nose", "rightShoulder"),
        ("rightShoulder", "rightElbow"), ("rightElbow", "rightWrist"),
        ("rightShoulder", "rightHip"), ("rightHip", "rightKnee"),
        ("rightKnee", "rightAnkle"),
    )
)
NUM_EDGES: int = len(POSE_CHAIN)
