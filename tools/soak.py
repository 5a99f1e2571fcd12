#!/usr/bin/env python3
"""Soak test over real DDS: camera publisher process(es) -> installed posenet_node -> us.

    tools/ros_env.sh python tools/soak.py --size 640x480 --rate 30 --duration 600
    tools/ros_env.sh python tools/soak.py --size 640x480 --size 320x240 --qos best_effort
    tools/ros_env.sh python tools/soak.py --bare --size 1920x1080 --profile config/...xml

Each ``--size`` starts one publisher process on the one image topic (real vtest.avi frames,
resized, bgr8, stamped at publish). This process subscribes to the node's ``poses`` and
``/diagnostics`` (or, with ``--bare``, to the images themselves: transport alone) and reports
as JSON: latency (PoseArray received minus the image stamp: camera, DDS, queue, inference
and back) median/p95/max, delivery (stamps that came back / frames published, per
publisher), the node's own frames received/dropped, and its RSS at the start and the end.
``--profile`` gives every process FASTDDS_DEFAULT_PROFILES_FILE (``--profile-on`` limits
that to the node or the publishers). A script for humans, not a timed test.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import signal
import statistics
import subprocess
import sys
import time

REPO = Path(__file__).resolve().parents[1]
MATCH_TIMEOUT_S = 30.0      # a publisher waits this long for its first subscriber
MATCH_SETTLE_S = 0.5        # then this long, for the subscriber to match it in turn


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", help="WxH of one publisher (repeatable); "
                        "default 640x480")
    parser.add_argument("--rate", type=float, default=30.0, help="frames/s of each publisher")
    parser.add_argument("--qos", choices=("best_effort", "reliable"), default="best_effort",
                        help="QoS of the publishers and of the node's subscription")
    parser.add_argument("--depth", type=int, default=1, help="publisher and subscription depth")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted")
    parser.add_argument("--bare", action="store_true", help="no posenet_node: measure the "
                        "image transport alone")
    parser.add_argument("--profile", type=Path, help="Fast DDS XML profile for the processes")
    parser.add_argument("--profile-on", choices=("all", "node", "publishers"), default="all")
    parser.add_argument("--node-param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra posenet_node parameter")
    parser.add_argument("--namespace", default="/soak")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--series", type=Path, help="write every frame's (publisher, stamp, "
                        "latency or null) as JSON lines here, and the node's per-second "
                        "timings from /diagnostics beside it (<series>.node.jsonl): where "
                        "the latency is spent")
    parser.add_argument("--node-log", type=Path, default=Path("/tmp/soak_posenet_node.log"),
                        help="posenet_node's output")
    parser.add_argument("--role", choices=("publisher",), help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _qos(args):
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=args.depth,
                      reliability=(ReliabilityPolicy.RELIABLE if args.qos == "reliable"
                                   else ReliabilityPolicy.BEST_EFFORT))


def _frames(width: int, height: int, count: int = 30):
    import cv2
    from posenet_ros.core import paths
    capture = cv2.VideoCapture(str(paths.require(paths.sample_video(), "vtest.avi")))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
    capture.release()
    return frames


def run_publisher(args) -> int:
    """One camera: publish ``--size`` frames at ``--rate`` until SIGINT; print the count."""
    import rclpy
    from sensor_msgs.msg import Image
    width, height = (int(v) for v in args.size[0].split("x"))
    rclpy.init()
    node = rclpy.create_node(f"soak_camera_{args.index}", namespace=args.namespace)
    pub = node.create_publisher(Image, "image", _qos(args))
    messages = []
    for frame in _frames(width, height):
        msg = Image(height=height, width=width, encoding="bgr8", step=width * 3)
        msg.header.frame_id = f"soak_camera_{args.index}"
        msg.data = frame.tobytes()
        messages.append(msg)
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    # Frames published before discovery has matched the subscriber are lost to discovery, not
    # to transport (matching took up to 0.9 s in test_transport): start once matched.
    # The subscribers exist before a publisher is started, so this only waits for discovery.
    waited, deadline = time.monotonic(), time.monotonic() + MATCH_TIMEOUT_S
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline and not stop:
        time.sleep(0.01)
    matched, waited = pub.get_subscription_count() > 0, time.monotonic() - waited
    if matched:
        time.sleep(MATCH_SETTLE_S)      # the subscriber's side of the match
    print(json.dumps({"ready": True, "matched": matched, "discovery_s": round(waited, 3)}),
          flush=True)
    period, sent, stamps = 1.0 / args.rate, 0, []
    next_time = time.monotonic()
    while not stop:
        msg = messages[sent % len(messages)]
        msg.header.stamp = node.get_clock().now().to_msg()
        pub.publish(msg)
        stamps.append(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
        sent += 1
        next_time += period
        time.sleep(max(0.0, next_time - time.monotonic()))
    print(json.dumps({"sent": sent, "first": stamps[0] if stamps else 0,
                      "stamps": stamps}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _env(args, role: str) -> dict:
    env = os.environ.copy()
    env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
    if args.profile and args.profile_on in ("all", role):
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(args.profile.resolve())
    return env


def _percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_soak(args) -> dict:
    """Start the processes, measure, stop them cleanly; the report."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image
    sizes = args.size or ["640x480"]
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--rate", str(args.rate), "--qos", args.qos, "--depth", str(args.depth),
              "--namespace", args.namespace]
    node_proc = None
    if not args.bare:
        from ament_index_python.packages import get_package_prefix
        script = Path(get_package_prefix("posenet_ros")) / "lib" / "posenet_ros" / "posenet_node"
        params = ["-p", f"qos_reliability:={args.qos}", "-p", f"qos_depth:={args.depth}"]
        for extra in args.node_param:
            params += ["-p", extra]
        node_proc = subprocess.Popen(
            [sys.executable, str(script), "--ros-args", "-r", f"__ns:={args.namespace}",
             "--params-file", str(REPO / "config" / "posenet.yaml"), *params],
            env=_env(args, "node"), cwd="/tmp", stdout=open(args.node_log, "w"),
            stderr=subprocess.STDOUT)
    # This process receives the images with --bare: it is the "node" then.
    os.environ.update({k: v for k, v in _env(args, "node" if args.bare else "all").items()
                       if k == "FASTDDS_DEFAULT_PROFILES_FILE"})
    rclpy.init()
    probe = rclpy.create_node("soak_probe", namespace=args.namespace)
    executor = SingleThreadedExecutor()
    executor.add_node(probe)
    arrivals: dict[tuple[str, int], float] = {}   # (frame_id, stamp ns) -> receive time

    def on_message(msg) -> None:
        now = time.time_ns()
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        arrivals.setdefault((msg.header.frame_id, stamp), (now - stamp) * 1e-9)

    diagnostics: list = []
    if args.bare:
        probe.create_subscription(Image, "image", on_message, _qos(args))
    else:
        from posenet_ros.msg import PoseArray
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        probe.create_subscription(PoseArray, "poses", on_message,
                                  QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        probe.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
        deadline = time.monotonic() + 120
        while probe.count_publishers(f"{args.namespace}/poses") == 0:
            assert node_proc.poll() is None, args.node_log.read_text()
            assert time.monotonic() < deadline, "posenet_node did not start"
            executor.spin_once(timeout_sec=0.1)
    publishers = [subprocess.Popen(
        [*me, "--role", "publisher", "--index", str(i), "--size", size, *common],
        env=_env(args, "publishers"), stdout=subprocess.PIPE, text=True)
        for i, size in enumerate(sizes)]
    for pub in publishers:
        assert json.loads(pub.stdout.readline()).get("ready"), "publisher did not start"
    started = time.monotonic()
    rss_start = None
    while time.monotonic() - started < args.duration + args.warmup:
        executor.spin_once(timeout_sec=0.05)
        if rss_start is None and node_proc and time.monotonic() - started > args.warmup:
            rss_start = _rss_mb(node_proc.pid)
    rss_end = _rss_mb(node_proc.pid) if node_proc else None
    results = []
    for pub in publishers:
        pub.send_signal(signal.SIGINT)
        out, _ = pub.communicate(timeout=30)
        results.append(json.loads(out.strip().splitlines()[-1]))
    linger = time.monotonic() + 2.0     # the last frames' poses
    while time.monotonic() < linger:
        executor.spin_once(timeout_sec=0.05)
    node_exit = None
    if node_proc:
        node_proc.send_signal(signal.SIGINT)
        node_exit = node_proc.wait(timeout=30)
        node_log = args.node_log.read_text()
    report = {"sizes": sizes, "rate_hz": args.rate, "qos": args.qos, "depth": args.depth,
              "duration_s": args.duration, "bare": args.bare,
              "profile": str(args.profile) if args.profile else None,
              "profile_on": args.profile_on if args.profile else None, "publishers": []}
    warm_ns = None
    for i, (size, result) in enumerate(zip(sizes, results)):
        frame_id = f"soak_camera_{i}"
        stamps = result["stamps"]
        if warm_ns is None and stamps:
            warm_ns = stamps[0] + int(args.warmup * 1e9)
        counted = [s for s in stamps if s >= warm_ns]
        latencies = [arrivals[(frame_id, s)] for s in counted if (frame_id, s) in arrivals]
        entry = {"size": size, "sent": len(counted), "returned": len(latencies),
                 "delivery_pct": round(100 * len(latencies) / max(len(counted), 1), 1)}
        if latencies:
            entry.update({"latency_median_ms": round(statistics.median(latencies) * 1e3, 1),
                          "latency_p95_ms": round(_percentile(latencies, 0.95) * 1e3, 1),
                          "latency_max_ms": round(max(latencies) * 1e3, 1)})
        report["publishers"].append(entry)
        if args.series:
            with args.series.open("a") as out:
                for stamp in counted:
                    out.write(json.dumps([i, stamp, arrivals.get((frame_id, stamp))]) + "\n")
    if node_proc:
        last = {}
        windows = []
        for array in diagnostics:
            for status in array.status:
                if status.name.startswith(f"{args.namespace}/posenet_node:"):
                    last = {kv.key: kv.value for kv in status.values}
                    windows.append({"stamp": array.header.stamp.sec, **last})
        if args.series:
            with args.series.with_suffix(".node.jsonl").open("a") as out:
                out.writelines(json.dumps(window) + "\n" for window in windows)
        report["node"] = {key: last.get(key) for key in (
            "frames_received", "frames_processed", "frames_dropped", "rate_hz",
            "inference_ms")}
        report["node"].update({"rss_start_mb": round(rss_start or 0, 1),
                               "rss_end_mb": round(rss_end, 1), "exit_code": node_exit,
                               "traceback": "Traceback" in node_log})
    probe.destroy_node()
    rclpy.try_shutdown()
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.role == "publisher":
        return run_publisher(args)
    report = run_soak(args)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
