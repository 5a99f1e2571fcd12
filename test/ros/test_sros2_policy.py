"""config/sros2_policy.xml against the nodes' real graph, and who may reconfigure them.

Under ``ROS_SECURITY_STRATEGY=Enforce`` a node that creates a publisher, subscription or
service its enclave's permissions do not allow fails to start; one the policy forgot is only
found on the robot. So the installed nodes run as camera.launch.py and reactions.launch.py
wire them, and every entity of each is checked against its enclave. The names expand as
sros2's permissions.xsl expands them (``/`` absolute, ``~/`` the node's, else the profile's
namespace; topics become ``rt<name>``, services ``rq<name>Request``/``rr<name>Reply``) and
match as DDS permissions match (fnmatch; deny rules first, then allow, default deny).
sros2 itself is not on PyPI: docs/security.md says what was checked with its schema.
"""
from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
import time
import xml.etree.ElementTree as ElementTree

from dds_probe import wait_for
import pytest

POLICY = Path(__file__).resolve().parents[2] / "config" / "sros2_policy.xml"
PREFIX = "/posenet_ros"
ADMIN = ("set_parameters", "set_parameters_atomically", "change_state")


def _expand(name: str, ns: str, node: str) -> str:
    ns = ns if ns.endswith("/") else ns + "/"
    if name.startswith("/"):
        return name
    if name.startswith("~"):
        return ns + node + name[1:]
    return ns + name


def _rules(enclave) -> list[tuple[str, str, str]]:
    """(qualifier, publish|subscribe, DDS topic pattern) of one enclave, as sros2 writes them."""
    rules = []
    for profile in enclave.iter("profile"):
        ns, node = profile.get("ns"), profile.get("node")
        for group in profile:
            for qualifier_of, kinds in (
                    ("publish", [("publish", "rt", "")]),
                    ("subscribe", [("subscribe", "rt", "")]),
                    ("reply", [("publish", "rr", "Reply"), ("subscribe", "rq", "Request")]),
                    ("request", [("publish", "rq", "Request"), ("subscribe", "rr", "Reply")])):
                qualifier = group.get(qualifier_of)
                if qualifier is None:
                    continue
                for item in group:
                    fqn = _expand(item.text.strip(), ns, node)
                    rules += [(qualifier, kind, f"{head}{fqn}{tail}")
                              for kind, head, tail in kinds]
    return rules


def allowed(rules, kind: str, topic: str) -> bool:
    """Decide as DDS access control does: deny rules first, then allow, then the default."""
    for qualifier in ("DENY", "ALLOW"):
        if any(q == qualifier and k == kind and fnmatchcase(topic, pattern)
               for q, k, pattern in rules):
            return qualifier == "ALLOW"
    return False


@pytest.fixture(scope="module")
def policy() -> dict[str, list]:
    root = ElementTree.parse(POLICY).getroot()
    assert root.tag == "policy" and root.get("version") == "0.2.0"
    enclaves = root.find("enclaves")
    # sros2's generate_artifacts walks <enclaves>'s children as enclaves: nothing else there.
    assert all(child.tag == "enclave" for child in enclaves)
    return {e.get("path"): _rules(e) for e in enclaves}


def needed(node, name: str, ns: str) -> list[tuple[str, str]]:
    """List what the node ``ns/name`` does on the graph: (publish|subscribe, DDS topic)."""
    needs = [("publish", "rt" + t)
             for t, _ in node.get_publisher_names_and_types_by_node(name, ns)]
    needs += [("subscribe", "rt" + t)
              for t, _ in node.get_subscriber_names_and_types_by_node(name, ns)]
    for service, _ in node.get_service_names_and_types_by_node(name, ns):
        needs += [("subscribe", f"rq{service}Request"), ("publish", f"rr{service}Reply")]
    return needs


def test_the_nodes_do_only_what_their_enclaves_allow(start_node, policy):
    import rclpy
    from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
    from rclpy.node import Node
    launched = {  # as camera.launch.py and reactions.launch.py start them
        ("camera_node", "/camera"): start_node("/camera", script="camera_node", rate=2.0),
        # hri on: the policy must also cover REP-155's topics.
        ("posenet_node", "/"): start_node("/", providers=["cpu"], hri=True, remaps={
            "image": "camera/image", "image/compressed": "camera/image/compressed",
            "camera_info": "camera/camera_info"}),
        ("reactions_node", "/"): start_node("/", script="reactions_node"),
    }
    watcher = Node("sros2_policy_watcher")
    try:
        def publishes(name, ns, topic):
            try:
                found = watcher.get_publisher_names_and_types_by_node(name, ns)
            except _rclpy.NodeNameNonExistentError:     # not discovered yet
                return False
            return any(t == topic for t, _ in found)

        def complete():
            rclpy.spin_once(watcher, timeout_sec=0.1)
            return all(publishes(name, ns, "/rosout") for name, ns in launched) and publishes(
                "posenet_node", "/", "/poses")
        wait_for(complete, 90, what="the three nodes in the graph, posenet_node active")
        time.sleep(1.0)      # the last entities of each node
        refused = {}
        for name, ns in launched:
            rules = policy[f"{PREFIX}/{name}"]
            missing = [f"{kind} {topic}" for kind, topic in needed(watcher, name, ns)
                       if not allowed(rules, kind, topic)]
            if missing:
                refused[name] = missing
    finally:
        watcher.destroy_node()
    assert not refused, f"under Enforce these would fail (add them to the policy): {refused}"
    for (name, _), process in launched.items():
        assert process.alive(), process.log()


@pytest.mark.parametrize("target", ["posenet_node", "reactions_node"])
def test_only_the_operator_may_reconfigure(policy, target):
    for service in ADMIN:
        if target == "reactions_node" and service == "change_state":
            continue                                   # not a lifecycle node
        request = f"rq/{target}/{service}Request"
        callers = sorted(e for e, rules in policy.items() if allowed(rules, "publish", request))
        assert callers == [f"{PREFIX}/operator"], (service, callers)
        reader = f"rr/{target}/{service}Reply"        # and only the node itself serves it
        servers = sorted(e for e, rules in policy.items() if allowed(rules, "publish", reader))
        assert servers == [f"{PREFIX}/{target}"], (service, servers)


def test_viewers_read_outputs_and_parameters_only(policy):
    viewer = policy[f"{PREFIX}/viewer"]
    assert allowed(viewer, "subscribe", "rt/poses")
    assert allowed(viewer, "publish", "rq/posenet_node/get_parametersRequest")
    assert not allowed(viewer, "publish", "rq/posenet_node/set_parametersRequest")
    assert not allowed(viewer, "publish", "rt/camera/image")      # no fake frames
    assert not allowed(viewer, "publish", "rt/cmd_vel")
