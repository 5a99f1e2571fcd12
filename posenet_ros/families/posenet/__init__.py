"""PoseNet (TF.js PoseNet 2.2.2): preprocessing, session, decoding."""
