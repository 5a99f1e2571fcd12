"""People in 3D from a depth image registered to the colour camera (ROS-free).

:mod:`.decode` turns depth message fields into metres, :mod:`.pairing` matches depth frames
to colour frames by stamp, :mod:`.lift` samples depth around keypoints and back-projects
them through the colour camera's intrinsics.
"""
