"""PoseNet (TF.js PoseNet 2.2.2): preprocessing, session, decoding."""

#: The names ``model`` takes for this family (the first is the engine's default model).
NAMES = ("posenet",)
