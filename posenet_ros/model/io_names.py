"""The converted model's inputs and outputs, named in one place.

Input ``image``: float32 [batch, 3, height, width], RGB scaled to [-1, 1] (pixel / 127.5 - 1).
Outputs, float32 [batch, channels, grid_h, grid_w] with grid = (size - 1) / stride + 1:
- ``heatmap``: 17 part scores, sigmoid already applied;
- ``offsets``: 34 channels, y for parts 0..16 then x for parts 0..16 (pixels of the input);
- ``displacement_fwd`` / ``displacement_bwd``: 32 channels, y for the 16 pose-chain edges then x.
(The article says x first; tfjs-models' code, which the weights were trained for, reads y first.)
"""
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
CHANNELS = {HEATMAP: 17, OFFSETS: 34, DISPLACEMENT_FWD: 32, DISPLACEMENT_BWD: 32}
