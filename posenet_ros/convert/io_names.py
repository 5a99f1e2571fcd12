"""The converted model's inputs and outputs, named in one place.

Input ``image``: float32 [batch, 3, height, width], RGB scaled to [-1, 1] (pixel / 127.5 - 1).
Outputs, float32 [batch, channels, grid_h, grid_w] with grid = (size - 1) / stride + 1:
- ``heatmap``: 17 part scores, sigmoid already applied;
- ``offsets``: 34 channels, y for parts 0..16 then x for parts 0..16 (pixels of the input);
- ``displacement_fwd`` / ``displacement_bwd``: 32 channels, y for the 16 pose-chain edges then x.
(The article says x first; tfjs-models' code, which the weights were trained for, reads y first.)
"""
from posenet_ros.core.keypoints import NUM_EDGES, NUM_KEYPOINTS

INPUT = "image"
HEATMAP = "heatmap"
OFFSETS = "offsets"
DISPLACEMENT_FWD = "displacement_fwd"
DISPLACEMENT_BWD = "displacement_bwd"
OUTPUTS = (HEATMAP, OFFSETS, DISPLACEMENT_FWD, DISPLACEMENT_BWD)

# TF.js graph head -> ONNX output, in MobileNet.nameOutputResults order.
HEAD_OUTPUTS = {
    "offset_2": OFFSETS,
    "heatmap_2": HEATMAP,
    "displacement_fwd_2": DISPLACEMENT_FWD,
    "displacement_bwd_2": DISPLACEMENT_BWD,
}
# Channel counts follow the body model (keypoints.py): one score and a (y, x) offset per part,
# a (y, x) displacement per pose-chain edge.
CHANNELS = {HEATMAP: NUM_KEYPOINTS, OFFSETS: 2 * NUM_KEYPOINTS,
            DISPLACEMENT_FWD: 2 * NUM_EDGES, DISPLACEMENT_BWD: 2 * NUM_EDGES}
