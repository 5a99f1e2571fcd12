"""The fleet's inputs and keys: which bags an argument names, their names, robots and topics.

No Ray, no model: bags are tiny real ones (a frame of vtest.avi) or plain files where only
the name matters.
"""
from __future__ import annotations

import os
from pathlib import Path

from bag_fixtures import sample_video
from posenet_ros.bag.reader import BagError, ImageBag
from posenet_ros.fleet import state
from posenet_ros.fleet.inputs import expand_inputs, InputError, robot_of, select_topic
import pytest


def _bag_folder(path: Path, storage: str = ".mcap") -> Path:
    path.mkdir(parents=True)
    (path / "metadata.yaml").write_text("rosbag2_bagfile_information: {}\n")
    (path / f"{path.name}_0{storage}").write_bytes(b"x")
    return path


@pytest.fixture
def tree(tmp_path):
    _bag_folder(tmp_path / "fleet" / "robot1" / "day1")
    _bag_folder(tmp_path / "fleet" / "robot2" / "day1", ".db3")
    (tmp_path / "fleet" / "robot2" / "loose.mcap").write_bytes(b"x")
    (tmp_path / "fleet" / "robot2" / "notes.txt").write_text("not a bag")
    return tmp_path


def test_a_folder_is_searched_and_a_bag_folder_is_one_bag(tree):
    bags = expand_inputs(["fleet"], cwd=tree)
    assert [b.path.relative_to(tree).as_posix() for b in bags] == [
        "fleet/robot1/day1", "fleet/robot2/day1", "fleet/robot2/loose.mcap"]
    # Two bags called day1: their names take the robot's folder, so outputs cannot collide.
    assert [b.name for b in bags] == ["robot1__day1", "robot2__day1", "loose"]


def test_globs_list_files_and_duplicates(tree):
    (tree / "lists").mkdir()
    (tree / "lists" / "bags.txt").write_text(
        "# robot 1 only\n../fleet/robot1/day1   # the first day\n\n../fleet/robot1/day1\n")
    bags = expand_inputs(["@lists/bags.txt", "fleet/*/day1", "fleet/**/*.mcap"], cwd=tree)
    assert [b.path.relative_to(tree).as_posix() for b in bags] == [
        "fleet/robot1/day1", "fleet/robot2/day1", "fleet/robot2/loose.mcap"]


def test_the_output_folder_inside_the_searched_one_is_not_an_input(tree):
    _bag_folder(tree / "fleet" / "out" / "bags" / "robot1__day1" / "poses")   # a pose bag
    bags = expand_inputs(["fleet"], cwd=tree, exclude=tree / "fleet" / "out")
    assert [b.path.relative_to(tree).as_posix() for b in bags] == [
        "fleet/robot1/day1", "fleet/robot2/day1", "fleet/robot2/loose.mcap"]


@pytest.mark.parametrize("item, message", [
    ("nowhere", "no such file or folder"), ("fleet/*/night*", "matches no bag"),
    ("fleet/robot2/notes.txt", "no bag in it"), ("@missing.txt", "cannot read the list")])
def test_inputs_naming_nothing_are_refused_by_name(tree, item, message):
    with pytest.raises(InputError, match=message):
        expand_inputs([item], cwd=tree)


@pytest.mark.parametrize("topic, bag, robot", [
    ("/robot1/camera/image_raw", "x/y/day1", "robot1"),
    ("/robot1/camera/image_raw/compressed", "x/y/day1", "robot1"),
    ("/camera/image_raw", "fleet/robot7/day1", "robot7"),
    ("/camera/image_raw/compressed", "fleet/robot7/day1.mcap", "robot7")])
def test_robot_is_the_topic_namespace_else_the_folder(topic, bag, robot):
    assert robot_of(topic, Path(bag)) == robot


@pytest.fixture
def camera_bag(tmp_path):
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    bag = tmp_path / "camera"
    write_video_bag(VideoBagJob(sample_video(), bag, topic="/r1/front/image_raw",
                                compressed=True, max_frames=1))
    return bag


def test_topic_by_namespaced_name_or_the_only_image_topic(camera_bag):
    bag = camera_bag
    with ImageBag(bag) as opened:
        assert select_topic(opened, None).name == "/r1/front/image_raw/compressed"
        assert select_topic(opened, "front/image_raw").name == "/r1/front/image_raw/compressed"
        assert select_topic(opened, "/r1/front/image_raw/compressed").msgtype.endswith(
            "CompressedImage")
        with pytest.raises(BagError, match="'rear/image_raw' is not in bag"):
            select_topic(opened, "rear/image_raw")


def test_key_follows_size_mtime_and_metadata(tmp_path):
    bag = _bag_folder(tmp_path / "b")
    first = state.fingerprint(bag)
    assert state.fingerprint(bag) == first
    storage = bag / "b_0.mcap"
    stat = storage.stat()
    storage.write_bytes(b"y")                   # same size, same mtime: only sha256 sees it
    os.utime(storage, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert state.fingerprint(bag) == first
    os.utime(storage, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert state.fingerprint(bag) != first
    (bag / "metadata.yaml").write_text("rosbag2_bagfile_information: {x: 1}\n")
    assert state.job_key(state.fingerprint(bag), {"a": 1}) != state.job_key(
        state.fingerprint(bag), {"a": 2})


def test_content_hash_sees_a_same_size_same_mtime_change(tmp_path):
    bag = _bag_folder(tmp_path / "b")
    storage = bag / "b_0.mcap"
    before = state.fingerprint(bag, content_hash=True)
    stat = storage.stat()
    storage.write_bytes(b"y")
    os.utime(storage, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert state.fingerprint(bag, content_hash=True) != before


def test_publish_swaps_whole_folders_and_partial_ones_are_removed(tmp_path):
    bags = tmp_path / "bags"
    old = bags / "a"
    old.mkdir(parents=True)
    (old / "keypoints.csv").write_text("old")
    new = state.tmp_folder(bags, "a")
    new.mkdir()
    (new / "keypoints.csv").write_text("new")
    state.publish(new, old)
    assert (old / "keypoints.csv").read_text() == "new"
    assert sorted(p.name for p in bags.iterdir()) == ["a"]
    left = state.tmp_folder(bags, "b")
    left.mkdir()
    assert state.remove_partial(bags) == [left.name]
    assert sorted(p.name for p in bags.iterdir()) == ["a"]


def test_two_runs_on_one_output_folder_are_refused(tmp_path):
    with state.output_lock(tmp_path):
        with pytest.raises(state.BusyError, match="another posenet-ros fleet run"):
            with state.output_lock(tmp_path):
                pass
    with state.output_lock(tmp_path):       # released: usable again
        pass
