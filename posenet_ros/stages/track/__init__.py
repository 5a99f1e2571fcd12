"""People tracking: stable ids across frames, per-track keypoint smoothing (ROS-free).

``similarity`` scores detections against tracks (OKS, box IoU, centre distance),
``assignment`` matches them optimally, ``cascade`` runs the two matching stages, ``motion``
predicts where a track is now, ``smoothing`` holds the One Euro filters of all tracks,
``scores`` decides which poses are tracked (pose score, duplicates), ``appearance`` and
``reid`` give ids back to people seen again, ``config`` holds the settings, ``tracker`` runs
the life cycle (birth, death, reset).
"""
