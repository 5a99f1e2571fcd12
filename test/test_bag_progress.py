"""The progress display of ``posenet-ros bag``: a bar on a terminal, plain lines elsewhere."""
from __future__ import annotations

import io

from posenet_ros.bag.progress import Progress


def test_terminal_gets_one_redrawn_bar():
    out = io.StringIO()
    progress = Progress(total=200, stream=out, tty=True)
    progress._interval = 0.0                     # draw on every update
    for done in range(1, 201):
        progress.update(done)
    progress.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")   # one line, redrawn with \r
    assert text.count("\r") == 201
    last = text.rsplit("\r", 1)[1]
    assert last.startswith("[" + "#" * 30 + "] 200/200 frames")
    assert "\r[###############---------------] 100/200 frames" in text


def test_pipe_gets_periodic_plain_lines():
    out = io.StringIO()
    progress = Progress(total=50, stream=out, tty=False, line_interval_s=0.0)
    for done in range(1, 51):
        progress.update(done)
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 50 and "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[9].startswith("10/50 frames, ") and "ETA" in lines[9]
    assert lines[-1].startswith("50/50 frames, ") and "ETA" not in lines[-1]


def test_pipe_is_quiet_between_intervals():
    out = io.StringIO()
    progress = Progress(total=0, stream=out, tty=False)   # 10 s interval, unknown total
    for done in range(1, 1000):
        progress.update(done)
    progress.close()
    assert out.getvalue() == ""
