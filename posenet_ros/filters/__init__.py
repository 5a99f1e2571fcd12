"""Temporal filters ported from tfjs-models pose-detection 2.1.3 (``src/shared/filters``).

``low_pass`` and ``one_euro`` are line-by-line ports of the TypeScript scalar filters (the
reference for parity); ``one_euro_array`` runs the same arithmetic on whole arrays of
independent filters (what keypoint smoothing uses, so 17 x 2 filters cost one NumPy pass);
``keypoints_one_euro`` is pose-detection's ``KeypointsOneEuroFilter``.
"""
