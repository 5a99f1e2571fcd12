"""What runs after the engine, per stream: the pipeline, tracking, depth, filters."""
