"""posenet_node as a managed node: its lifecycle driven over DDS, as a lifecycle manager does.

With ``autostart:=false`` the node waits unconfigured; configure loads the model and creates
the outputs, activate subscribes to images, deactivate stops taking frames (the model stays
loaded), cleanup frees everything, and the same node can be configured again.
"""
from __future__ import annotations

from dds_probe import bgr8_message, new_header, Probe, vtest_frames, wait_for
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest

NS = "/lifecycle"
NODE = f"{NS}/posenet_node"


@pytest.fixture(scope="module")
def frame():
    import cv2
    return cv2.resize(vtest_frames([300])[0], (384, 288))


def call(probe: Probe, client, request, timeout: float = 60.0):
    assert client.wait_for_service(timeout_sec=timeout), f"no {client.srv_name} service"
    future = client.call_async(request)
    wait_for(future.done, timeout, probe.spin, f"{client.srv_name} reply")
    return future.result()


def transition(probe: Probe, client, transition_id: int) -> bool:
    return call(probe, client, ChangeState.Request(
        transition=Transition(id=transition_id))).success


def state(probe: Probe, client) -> int:
    return call(probe, client, GetState.Request()).current_state.id


def subscribed(probe: Probe) -> bool:
    return probe.image_pub.get_subscription_count() > 0


def test_configure_activate_deactivate_cleanup_over_dds(start_node, frame):
    node = start_node(NS, providers=["cpu"], qos_reliability="reliable", autostart=False)
    probe = Probe(NS)
    change = probe.node.create_client(ChangeState, f"{NODE}/change_state")
    get = probe.node.create_client(GetState, f"{NODE}/get_state")
    try:
        assert state(probe, get) == State.PRIMARY_STATE_UNCONFIGURED
        assert not subscribed(probe)
        status = probe.status_of(NODE)
        assert status is None or status.message == "unconfigured"
        for cycle in range(2):    # cleanup leaves a node that can be configured again
            assert transition(probe, change, Transition.TRANSITION_CONFIGURE)
            assert state(probe, get) == State.PRIMARY_STATE_INACTIVE
            assert not subscribed(probe)             # inactive: takes no frames
            assert transition(probe, change, Transition.TRANSITION_ACTIVATE)
            probe.wait_ready(node)
            served = probe.request(bgr8_message(frame, new_header()))
            assert len(served.poses) > 0
            assert transition(probe, change, Transition.TRANSITION_DEACTIVATE)
            wait_for(lambda: not subscribed(probe), 10, probe.spin, "the image subscription "
                     "to go away")
            assert "model stays loaded" in node.log()
            assert transition(probe, change, Transition.TRANSITION_ACTIVATE)
            probe.wait_ready(node)
            assert len(probe.request(bgr8_message(frame, new_header())).poses) == len(
                served.poses)
            assert transition(probe, change, Transition.TRANSITION_DEACTIVATE)
            assert transition(probe, change, Transition.TRANSITION_CLEANUP)
            assert state(probe, get) == State.PRIMARY_STATE_UNCONFIGURED
        assert node.alive() and "Traceback" not in node.log()
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_a_bad_model_fails_configure_with_its_reason_and_the_node_lives(start_node, tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text('{"modelTopology": {"node": []}, "weightsManifest": [{}]}')
    node = start_node(f"{NS}_bad", providers=["cpu"], autostart=False, model=str(bad))
    probe = Probe(f"{NS}_bad")
    change = probe.node.create_client(ChangeState, f"{NS}_bad/posenet_node/change_state")
    get = probe.node.create_client(GetState, f"{NS}_bad/posenet_node/get_state")
    try:
        assert not transition(probe, change, Transition.TRANSITION_CONFIGURE)
        assert state(probe, get) == State.PRIMARY_STATE_UNCONFIGURED
        log = node.log()
        assert "cannot configure" in log and str(bad.name) in log, log
        assert "Traceback" not in log and node.alive()
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_a_lifecycle_shutdown_from_a_peer_ends_the_process(start_node, frame):
    node = start_node(f"{NS}_end", providers=["cpu"], qos_reliability="reliable")
    probe = Probe(f"{NS}_end")
    change = probe.node.create_client(ChangeState, f"{NS}_end/posenet_node/change_state")
    try:
        probe.wait_ready(node)
        assert probe.request(bgr8_message(frame, new_header())).poses
        assert transition(probe, change, Transition.TRANSITION_ACTIVE_SHUTDOWN)
        wait_for(lambda: not node.alive(), 15, probe.spin, "the process to end")
    finally:
        probe.close()
    assert node.proc.returncode == 0, node.log()
    assert "shut down by a lifecycle transition" in node.log()
    assert "Traceback" not in node.log()


def test_an_image_topic_that_cannot_be_expanded_stops_start_up_with_its_reason(start_node):
    node = start_node(f"{NS}_topic", providers=["cpu"], image_topics=["a//b"])
    wait_for(lambda: not node.alive(), 60, what="the node to exit")
    assert node.proc.returncode == 2, node.log()
    assert "a//b" in node.log() and "Traceback" not in node.log()
