"""The colcon build and the pip packaging: what a ROS user and a Python user get installed.

These run against the colcon install space (``make test`` sources it through
tools/ros_env.sh; ``colcon test`` in a ROS workspace does the same), never the source tree.
"""
from __future__ import annotations

import ast
import filecmp
import importlib
import importlib.util
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import zipfile

from ament_index_python.packages import (get_package_prefix, get_package_share_directory,
                                         get_packages_with_prefixes)
from catkin_pkg.package import parse_package
from posenet_ros.core.keypoints import PART_NAMES
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rosidl_adapter.parser import parse_message_file

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "posenet_ros"
ROS_ONLY = ("rclpy", "rosidl_runtime_py", "std_msgs", "sensor_msgs", "geometry_msgs",
            "visualization_msgs", "diagnostic_msgs", "builtin_interfaces")

try:
    msg = importlib.import_module("posenet_ros.msg")
except ImportError as error:
    pytest.fail(f"posenet_ros.msg is not importable ({error}): build with `make setup` and run "
                f"the tests through `make test` (or source tools/ros_env.sh)",
                pytrace=False)


def _prefix() -> Path:
    return Path(get_package_prefix(PACKAGE))


def _python_dir() -> Path:
    return Path(msg.__file__).resolve().parents[2]   # site-packages


def _source_modules() -> list[Path]:
    return sorted(p.relative_to(ROOT / PACKAGE) for p in (ROOT / PACKAGE).rglob("*.py")
                  if "node_modules" not in p.parts and "__pycache__" not in p.parts)


def _msg_spec(name: str):
    return parse_message_file(PACKAGE, str(ROOT / "msg" / f"{name}.msg"))


def _generated_type(field) -> str:
    """Return the type name rosidl's Python classes report for a field of a parsed .msg file."""
    python_names = {"float32": "float", "float64": "double", "bool": "boolean"}
    base = field.type.type
    if not field.type.is_primitive_type():
        base = f"{field.type.pkg_name}/{base}"
    base = python_names.get(base, base)
    if not field.type.is_array:
        return base
    if field.type.array_size is None:
        return f"sequence<{base}>"
    if field.type.is_upper_bound:
        return f"sequence<{base}, {field.type.array_size}>"
    return f"{base}[{field.type.array_size}]"


def test_messages_and_engine_import_from_the_install_space():
    import posenet_ros.core.config
    install = _python_dir()
    assert _prefix() in install.parents, f"{install} is not under {_prefix()}"
    assert Path(posenet_ros.core.config.__file__).resolve().parents[1] == install / PACKAGE
    assert ROOT / PACKAGE != install / PACKAGE


@pytest.mark.parametrize("name", ["Keypoint", "Pose", "PoseArray"])
def test_generated_message_has_the_documented_fields(name):
    spec = _msg_spec(name)
    generated = getattr(msg, name).get_fields_and_field_types()
    assert generated == {f.name: _generated_type(f) for f in spec.fields}
    for constant in spec.constants:
        assert getattr(getattr(msg, name), constant.name) == constant.value


def test_keypoint_constants_follow_posenet_part_order():
    # "leftEye" -> LEFT_EYE: the message's part ids are the engine's keypoint indices.
    for index, part in enumerate(PART_NAMES):
        constant = re.sub(r"([A-Z])", r"_\1", part).upper()
        assert getattr(msg.Keypoint, constant) == index, part
    assert len(msg.Pose().keypoints) == len(PART_NAMES)


def test_pose_array_round_trips_through_cdr_serialisation():
    original = msg.PoseArray()
    original.header.stamp.sec, original.header.stamp.nanosec = 1_700_000_000, 123_456_789
    original.header.frame_id = "camera_optical"
    original.image_width, original.image_height = 768, 576
    original.model, original.decoder = "posenet-mobilenet075-stride16.onnx", "multi"
    original.output_stride, original.input_width, original.input_height = 16, 257, 193
    original.flip_horizontal, original.score_threshold = True, 0.5
    original.nms_radius, original.max_detections = 20.0, 5
    for person in range(3):
        pose = msg.Pose(score=0.25 * (person + 1))
        pose.keypoints = [
            msg.Keypoint(part_id=i, part_name=name, x=10.5 * i + person, y=3.25 * i,
                         score=i / 16)   # exact in float32, like every value here
            for i, name in enumerate(PART_NAMES)]
        original.poses.append(pose)

    data = serialize_message(original)
    restored = deserialize_message(data, msg.PoseArray)

    assert restored == original
    assert restored.poses[2].keypoints[16].part_name == PART_NAMES[16]
    assert serialize_message(restored) == data


def test_fixed_keypoint_array_rejects_a_wrong_length_when_fields_are_checked():
    # Kilted's messages check fields only on request (Humble always does); a Pose with other
    # than 17 keypoints must never reach serialisation, which does not check it.
    pose = msg.Pose(check_fields=True)
    with pytest.raises(AssertionError):
        pose.keypoints = [msg.Keypoint()] * (len(PART_NAMES) - 1)


def test_hand_written_modules_are_installed_into_the_generated_package():
    install = _python_dir() / PACKAGE
    # The top-level __init__.py is rosidl's (ours is only a docstring), so posenet_ros.msg
    # stays importable; every other module must be installed as it is in the source.
    modules = [p for p in _source_modules() if p != Path("__init__.py")]
    stale = [str(p) for p in modules if not (install / p).is_file()
             or not filecmp.cmp(ROOT / PACKAGE / p, install / p, shallow=False)]
    assert not stale, f"the install space differs from the source for {stale}: `make setup`"
    assert (install / "__init__.py").read_text() != (ROOT / PACKAGE / "__init__.py").read_text()
    assert not list(install.rglob("node_modules")), "the Node.js reference was installed"


@pytest.mark.parametrize("executable", [f"lib/{PACKAGE}/posenet_node",
                                        f"lib/{PACKAGE}/camera_node", "bin/posenet-ros"])
def test_installed_executables_run_installed_modules(executable):
    # `ros2 run posenet_ros X` runs <prefix>/lib/posenet_ros/X; bin/ is on a sourced PATH.
    path = _prefix() / executable
    assert path.is_file() and os.access(path, os.X_OK), path
    text = path.read_text()
    interpreter = Path(text.splitlines()[0][2:])
    assert interpreter.is_file(), f"{path}: interpreter {interpreter} does not exist"
    module = re.search(r"^\s*from (\S+) import main$", text, re.MULTILINE).group(1)
    source = ROOT / (module.replace(".", "/") + ".py")
    assert source.is_file(), f"{path} runs {module}, which has no source {source}"
    spec = importlib.util.find_spec(module)
    assert spec is not None and Path(spec.origin).resolve().is_relative_to(_python_dir())


def test_cli_on_the_sourced_path_is_the_installed_one():
    assert Path(shutil.which("posenet-ros")).parent == _prefix() / "bin"
    done = subprocess.run(["posenet-ros", "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "convert" in done.stdout


@pytest.mark.parametrize("folder", ["launch", "config"])
def test_launch_and_config_files_are_installed_to_share(folder):
    share = Path(get_package_share_directory(PACKAGE)) / folder
    sources = [p for p in (ROOT / folder).iterdir()
               if p.is_file() and p.suffix in (".py", ".xml", ".yaml", ".rviz")]
    assert sources, f"the package ships no {folder}/ files"
    for source in sources:
        installed = share / source.relative_to(ROOT / folder)
        assert installed.is_file() and filecmp.cmp(source, installed, shallow=False), installed


def test_package_xml_is_valid_and_declares_every_ros_package_the_code_imports():
    package = parse_package(str(ROOT / "package.xml"))   # validates format 3
    assert package.name == PACKAGE and package.package_format == 3
    assert package.get_build_type() == "ament_cmake"
    assert "rosidl_interface_packages" in [g.name for g in package.member_of_groups]
    declared = {d.name for d in package.build_depends + package.exec_depends
                + package.buildtool_depends + package.test_depends}
    ros_packages = set(get_packages_with_prefixes())
    imported = set()
    for source in (ROOT / PACKAGE).rglob("*.py"):
        if "node_modules" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    undeclared = sorted((imported & ros_packages) - declared - {PACKAGE})
    assert not undeclared, f"package.xml does not declare {undeclared}"


def test_engine_imports_without_ros():
    """Every module outside posenet_ros.ros imports with rclpy and all ROS messages absent."""
    engine = [".".join((PACKAGE,) + p.with_suffix("").parts).removesuffix(".__init__")
              for p in _source_modules() if p.parts[0] != "ros" and p.stem != "__main__"]
    code = (
        "import importlib, sys\n"
        f"for name in {ROS_ONLY!r}: sys.modules[name] = None\n"
        f"for name in {engine!r}: importlib.import_module(name)\n"
        "import posenet_ros\n"
        "assert posenet_ros.__file__.startswith(sys.argv[1]), posenet_ros.__file__\n")
    # Only the source tree and the venv's own packages: no ROS environment at all.
    env = {k: v for k, v in os.environ.items()
           if k not in ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH", "LD_LIBRARY_PATH",
                        "COLCON_PREFIX_PATH")}
    env["PYTHONPATH"] = str(ROOT)
    env["_ROS_WHEELS_BOOTSTRAP_COMPLETE"] = "1"
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / PACKAGE)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "posenet_ros.estimator" in engine


def test_pip_wheel_holds_the_engine_and_cli_but_no_tests(tmp_path):
    """`pip install .` for Python users: packages, reference data, the console script."""
    # A copy, so setuptools' in-tree build/ never meets colcon's.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "install", "log", "node_modules", "__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("posenet_ros-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in _source_modules():
        assert f"{PACKAGE}/{module.as_posix()}" in names
    assert f"{PACKAGE}/reference/package-lock.json" in names or not (
        ROOT / PACKAGE / "reference" / "package-lock.json").exists()
    assert not [n for n in names if n.startswith("test/") or "node_modules" in n]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert re.search(r"^posenet-ros = posenet_ros\.cli\.main:main$", text, re.MULTILINE)


def test_venv_has_the_posenet_ros_console_script():
    script = Path(sys.prefix) / "bin" / "posenet-ros"
    assert script.is_file() and os.access(script, os.X_OK), script
