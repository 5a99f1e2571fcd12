"""Camera geometry: intrinsics from CameraInfo, pinhole projection."""
