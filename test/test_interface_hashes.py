"""Every interface posenet_ros publishes from another package has upstream's type hash.

On Jazzy and later two definitions of a type interoperate only when their RIHS01 hashes are
equal (computed from package, message, field names, types and bounds). The development venv
builds stand-ins from ``interfaces/`` (the wheels lack these packages), so a field renamed,
reordered or retyped there would silently cut posenet_node off from real Foxglove, ROS4HRI
and tf2 peers. The recorded values are upstream's: each upstream package (foxglove_msgs 3.1.0
from ros2-gbp/ros_foxglove_msgs-release, hri_msgs 2.3.2 from ros2-gbp/hri_msgs-release,
tf2_msgs from ros2/geometry2) built unmodified ``.msg`` files and all with the same
rosidl in a scratch workspace (docs/ros-interop.md, "Type hashes"). The hash checked is the
one rosidl wrote for the package on AMENT_PREFIX_PATH: the stand-in here, the real package on
a ROS install (where this test checks that upstream did not change).
"""
from __future__ import annotations

import json
from pathlib import Path

from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
import pytest

pytestmark = pytest.mark.unit

UPSTREAM = {
    "foxglove_msgs/msg/ImageAnnotations":
        "RIHS01_47c6c0891ba263ec1b20d9b785c4261d4bc41051cbcc01668130e36aa2dcaee3",
    "foxglove_msgs/msg/CircleAnnotation":
        "RIHS01_d3d8a00505117be541fe8b4b601aa90d5088209a75f313e3779be54db324d15b",
    "foxglove_msgs/msg/PointsAnnotation":
        "RIHS01_61bd8dda01243d9c7232f00d9101577291b5a9bc1855b06ada4a29e0dc0496a7",
    "foxglove_msgs/msg/TextAnnotation":
        "RIHS01_c02ec64b79eb5682e73b2b2572f127a27baec868b6ad6acc085abc39355a5b2b",
    "foxglove_msgs/msg/Point2":
        "RIHS01_d85e823b78e2e88bc31629e305558bcdd2ecc9225f5f9390f96d91930f5696f0",
    "foxglove_msgs/msg/Color":
        "RIHS01_ed1b16da40c954e6456b950c2ef4559c179e5cb98f1363cb28c3b90c6ee14120",
    "hri_msgs/msg/IdsList":
        "RIHS01_7e0812d1ac945c98fd3e393568d581ad0ab567f37b24eff633eab778c1bfe62d",
    "hri_msgs/msg/Skeleton2D":
        "RIHS01_1cb61f012db6ca43c48fa0097ccab9a00108ea39323c13f01bb983323c1e3420",
    "hri_msgs/msg/NormalizedPointOfInterest2D":
        "RIHS01_cc1d2f720c82afeb850ff1dbf66f41ecb7caf19f842987f1247e66160cf03953",
    "hri_msgs/msg/NormalizedRegionOfInterest2D":
        "RIHS01_2e50c93f1ca166ee77af9a5424dc951ae4e452b740162a7f83c082d917dcaff5",
    "tf2_msgs/msg/TFMessage":
        "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
}
STAND_INS = Path(__file__).resolve().parents[1] / "interfaces"


@pytest.mark.parametrize("type_name", sorted(UPSTREAM))
def test_built_type_hash_equals_upstream(type_name: str) -> None:
    package, _, message = type_name.split("/")
    try:
        share = Path(get_package_share_directory(package))
    except PackageNotFoundError:
        pytest.fail(f"{package} is not on AMENT_PREFIX_PATH: run `make build` (it builds "
                    f"interfaces/{package}) or install ros-<distro>-{package.replace('_', '-')}")
    description = share / "msg" / f"{message}.json"
    if not description.is_file():
        pytest.skip(f"{description} missing: a ROS distro before Jazzy writes no type hashes")
    hashes = {h["type_name"]: h["hash_string"]
              for h in json.loads(description.read_text())["type_hashes"]}
    assert hashes[type_name] == UPSTREAM[type_name], (
        f"{type_name} as built in {share} does not hash like upstream's: a field name, type, "
        f"bound or order differs")


def test_stand_ins_hold_only_the_recorded_messages() -> None:
    """A message added to interfaces/ without its upstream hash recorded here fails."""
    built = {f"{p.parents[1].name}/msg/{p.stem}" for p in STAND_INS.glob("*/msg/*.msg")}
    assert built == set(UPSTREAM)
