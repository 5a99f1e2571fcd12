"""What runs after the engine, per stream: the pipeline (engine, tracks, 3D), tracking, depth."""
