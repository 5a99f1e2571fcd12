"""People tracking: stable ids across frames, per-track keypoint smoothing (ROS-free).

``similarity`` scores detections against tracks (OKS, box IoU), ``assignment`` matches them
optimally, ``motion`` predicts where a track is now, ``smoothing`` holds the One Euro
filters of all tracks, ``tracker`` runs the life cycle (birth, death, reset).
"""
