"""The inbox between subscription callbacks and the worker: newest frame per stream, batches."""
from __future__ import annotations

import threading

import numpy as np
from posenet_ros.ros.inbox import Frame, group_by_size, Inbox


def test_inbox_keeps_the_newest_frame_per_stream_and_groups_by_size():
    inbox, one, two = Inbox(), object(), object()
    assert inbox.put(Frame(one, "a1", 0.0)) is False
    assert inbox.put(Frame(two, "b1", 0.0)) is False
    assert inbox.put(Frame(one, "a2", 0.0)) is True          # a drop on stream one only
    assert [(f.stream, f.msg) for f in inbox.take_all()] == [(one, "a2"), (two, "b1")]
    frames = [Frame(None, i, 0.0, rgb=np.zeros(shape, np.uint8)) for i, shape in
              enumerate([(240, 320, 3), (288, 384, 3), (240, 320, 3)])]
    assert [[f.msg for f in g] for g in group_by_size(frames)] == [[0, 2], [1]]
    inbox.stop()
    assert inbox.take_all() is None


def test_take_all_waits_for_a_frame_and_stop_wakes_it():
    inbox, taken = Inbox(), []
    waiter = threading.Thread(target=lambda: taken.append(inbox.take_all()))
    waiter.start()
    waiter.join(timeout=0.2)
    assert waiter.is_alive()                 # nothing pending: it waits
    inbox.put(Frame("cam", "m", 0.0))
    waiter.join(timeout=5)
    assert [f.msg for f in taken[0]] == ["m"]
    waiter = threading.Thread(target=lambda: taken.append(inbox.take_all()))
    waiter.start()
    inbox.stop()
    waiter.join(timeout=5)
    assert not waiter.is_alive() and taken[1] is None
