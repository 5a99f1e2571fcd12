"""pip packaging of the ROS-free engine and the `posenet-ros` CLI.

colcon builds this repository as an ament_cmake package (package.xml), which also generates
the messages; this file is only for `pip install .` / `pip install -e .`, where the code
imports without ROS. The ROS parts (`posenet_ros.ros`) are included but need rclpy and the
colcon-built messages to run.
"""
from setuptools import find_packages, setup

setup(
    name="posenet-ros",
    version="0.1.0",
    description="Google's PoseNet on ONNX Runtime: library, CLI and ROS 2 node",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(exclude=["test", "test.*"]),
    # The Node.js reference runner (tests and benchmarks) ships as data beside its module.
    package_data={"posenet_ros.reference": ["*.js", "package.json", "package-lock.json"]},
    # Every third-party module the engine and CLI import (outside ros/, bench/, reference/);
    # test/test_build.py checks this list, and package.xml's rosdep keys, against the code.
    install_requires=[
        "numpy",
        "onnx",              # `posenet-ros convert`, model metadata
        "onnxruntime",
        "opencv-python-headless",
        "protobuf",          # onnx's: a corrupt model file is a DecodeError
        "scipy",             # tracking (on by default): linear_sum_assignment
    ],
    extras_require={
        # rosbags brings the other three; they are named because posenet_ros.bag imports them.
        "bag": ["rosbags", "matplotlib", "ruamel.yaml", "lz4",
                "backports.zstd; python_version < '3.14'"],
        # `posenet-ros fleet` (posenet_ros/fleet only): Ray actors, the Parquet fleet table.
        "fleet": ["ray", "pyarrow"],
    },
    entry_points={
        "console_scripts": ["posenet-ros = posenet_ros.cli.main:main"],
    },
)
