"""MoveNet's int8 calibration inputs: its own crops, the frames one stream as at run time."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.families.movenet.family import MoveNet


def movenet_feeds(fp32_path: str | Path, frames: list[np.ndarray],
                  period_s: float) -> list[np.ndarray]:
    """Return the inputs ``fp32_path`` is fed for ``frames``, stamped ``period_s`` apart.

    Each single-pose crop follows the keypoints of the frame before, as at run time.
    """
    config = EstimatorConfig(model=str(fp32_path), providers=("cpu",))
    model = MoveNet(config)
    state = model.new_state()
    feeds = []
    for i, frame in enumerate(frames):
        prepared = model.prepare([frame], config, [state])
        feeds.append(prepared.feeds[0])
        if state is not None:       # single pose: this frame's keypoints place the next crop
            model.decode(model.run(prepared), prepared, config, [state], [i * period_s])
    return feeds
