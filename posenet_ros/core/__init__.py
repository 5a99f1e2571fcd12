"""Shared types and settings: poses, keypoints, results, config, errors, paths."""
