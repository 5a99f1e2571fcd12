"""Pixels in: ROS image fields, JPEG/PNG structure, image and video files."""
