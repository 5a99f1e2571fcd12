"""Model families behind one seam (:mod:`posenet_ros.families.base`).

``EstimatorConfig.model`` picks the family: a family's name (``posenet``) or None for the
default PoseNet, or a model file (ONNX or TF.js ``model.json``), which PoseNet loads. A new
family adds its names to :data:`FAMILIES` and a :class:`~posenet_ros.families.base.PoseModel`.
"""
from __future__ import annotations

from collections.abc import Callable

from posenet_ros.config import EstimatorConfig
from posenet_ros.families.base import PoseModel


def _posenet(config: EstimatorConfig) -> PoseModel:
    from posenet_ros.families.posenet import PoseNet
    return PoseNet(config)


#: Model name -> loader. Names not listed are model file paths (PoseNet's).
FAMILIES: dict[str, Callable[[EstimatorConfig], PoseModel]] = {"posenet": _posenet}


def load_model(config: EstimatorConfig) -> PoseModel:
    """Load the model ``config.model`` names (None: PoseNet)."""
    return FAMILIES.get(config.model or "posenet", _posenet)(config)
