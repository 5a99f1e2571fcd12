#!/usr/bin/env python3
"""Carry the engine to a GPU machine without a registry, and take its GPU figures there.

The GPU machine (Python 3.12, CUDA 13 and cuDNN 9, e.g. with PyTorch; CPU onnxruntime only)
reaches no registry, and files reach it in the work tree, at most 64 MiB per call. So:

    python3.11 tools/gpu_check.py pack        # here: hash-checked wheels, model, video ->
                                              # out/gpu_kit/part-NN.bin (< 64 MiB each)
    # there, one call per part, carry=["out/gpu_kit/manifest.json", "out/gpu_kit/part-NN.bin"]:
    python3 tools/gpu_check.py receive        # checks the part's SHA-256, keeps it aside
    # the last call (its part carried too), in one command:
    python3 tools/gpu_check.py all -- --providers tensorrt,cuda      # receive, unpack, run

``unpack`` joins the parts, checks every wheel against requirements/gpu-kit-cp312.txt and
unzips them into out/gpu_kit/site; ``run`` puts that first on PYTHONPATH, points
POSENET_ROS_HOME at the kit's model and video, and runs ``python -m posenet_ros.bench.gpu``,
writing JSON to $OUT/gpu.json where $OUT is set (the device tool brings it back).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tarfile
import zipfile

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "out" / "gpu_kit"
LOCK = ROOT / "requirements" / "gpu-kit-cp312.txt"
PLATFORM, PYTHON = "manylinux_2_28_x86_64", "3.12"
MODEL = "models/posenet-mobilenet075-stride16.onnx"
VIDEO = "data/vtest.avi"
PART_MIB = 56               # + the work tree (~1 MiB) stays under the 64 MiB a call carries


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def locked() -> dict[str, tuple[str, str]]:
    """{normalised name: (version, sha256)} from the kit's lock."""
    entries, name = {}, None
    for line in LOCK.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split(" ")[0].lower().split("==")
        elif "--hash=sha256:" in line and name:
            entries[name] = (version, line.split("sha256:")[1].strip())
    return entries


def wheel_name(path: Path) -> str:
    return path.name.split("-")[0].lower().replace("_", "-")


def pack(args: argparse.Namespace) -> int:
    """Download the locked cp312 wheels (pip checks the hashes), tar them with data, split."""
    home = Path(os.environ.get("POSENET_ROS_HOME") or Path.home() / ".cache" / "posenet_ros")
    wheels = KIT / "wheels"
    shutil.rmtree(KIT, ignore_errors=True)
    wheels.mkdir(parents=True)
    skip = {name.lower() for name in args.skip}   # e.g. numpy, where the machine's will do
    req = KIT / "kit.txt"
    req.write_text("".join(f"{n}=={v} --hash=sha256:{h}\n"
                           for n, (v, h) in locked().items() if n not in skip))
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--require-hashes", "--only-binary=:all:", "--python-version", PYTHON,
                    "--platform", PLATFORM, "-d", str(wheels), "-r", str(req)], check=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for whl in sorted(wheels.glob("*.whl")):
            tar.add(whl, f"wheels/{whl.name}")
        for rel in (MODEL, VIDEO):
            if not (home / rel).is_file():
                sys.exit(f"{home / rel} missing: run `make setup` first")
            tar.add(home / rel, rel)
    data = buf.getvalue()
    shutil.rmtree(wheels)
    req.unlink()
    size = args.part_mib * 2**20
    parts = [data[i:i + size] for i in range(0, len(data), size)]
    for i, part in enumerate(parts):
        (KIT / f"part-{i:02d}.bin").write_bytes(part)
    manifest = {"sha256": sha256(data), "parts": {f"part-{i:02d}.bin": sha256(p)
                                                  for i, p in enumerate(parts)}}
    (KIT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(data) / 2**20:.0f} MiB in {len(parts)} parts under {KIT.relative_to(ROOT)}; "
          "carry manifest.json and one part per call, then `all` with the last")
    return 0


def receive(_args: argparse.Namespace | None = None) -> int:
    """Check each part that has arrived and move it aside (the next call carries another)."""
    manifest = json.loads((KIT / "manifest.json").read_text())
    kept = KIT / "received"
    kept.mkdir(parents=True, exist_ok=True)
    for name, digest in manifest["parts"].items():
        part = KIT / name
        if part.is_file():
            if sha256(part.read_bytes()) != digest:
                sys.exit(f"{name}: SHA-256 mismatch: carry it again")
            part.replace(kept / name)
    missing = [n for n in manifest["parts"] if not (kept / n).is_file()]
    print(f"received {len(manifest['parts']) - len(missing)}/{len(manifest['parts'])} parts"
          + (f"; still to carry: {', '.join(missing)}" if missing else ""))
    return 1 if missing else 0


def unpack(_args: argparse.Namespace | None = None) -> int:
    """Join and check the parts, unzip each hash-checked wheel into out/gpu_kit/site."""
    manifest = json.loads((KIT / "manifest.json").read_text())
    data = b"".join((KIT / "received" / n).read_bytes() for n in manifest["parts"])
    if sha256(data) != manifest["sha256"]:
        sys.exit("the joined kit's SHA-256 does not match the manifest")
    root, site = KIT / "root", KIT / "site"
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(site, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(root, filter="data")
    hashes = {name: digest for name, (_, digest) in locked().items()}
    for whl in sorted((root / "wheels").glob("*.whl")):
        if hashes.get(wheel_name(whl)) != sha256(whl.read_bytes()):
            sys.exit(f"{whl.name}: not the file {LOCK.name} pins")
        with zipfile.ZipFile(whl) as z:        # a wheel is a zip of its site-packages files
            z.extractall(site)
    print(f"unpacked {len(list((root / 'wheels').glob('*.whl')))} wheels into "
          f"{site.relative_to(ROOT)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the GPU bench with the kit in front of the machine's own packages."""
    site = KIT / "site"
    env = dict(os.environ, POSENET_ROS_HOME=str(KIT / "root"), PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(site), str(ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    out = Path(os.environ["OUT"]) / "gpu.json" if os.environ.get("OUT") else None
    bench = list(args.bench)
    if out and "--json" not in bench:
        bench += ["--json", str(out)]
    if shutil.which("nvidia-smi"):
        subprocess.run(["nvidia-smi", "-L"], check=False)
    return subprocess.run([sys.executable, "-m", "posenet_ros.bench.gpu", *bench],
                          env=env, cwd=ROOT).returncode


def run_all(args: argparse.Namespace) -> int:
    if receive():
        return 1
    unpack()
    return run(args)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="step", required=True)
    pk = sub.add_parser("pack", help="here: wheels, model and video into parts")
    pk.add_argument("--part-mib", type=int, default=PART_MIB)
    pk.add_argument("--skip", nargs="*", default=[], help="wheels the GPU machine has")
    sub.add_parser("receive", help="there: check and keep the parts carried so far")
    sub.add_parser("unpack", help="there: join, check and unzip the kit")
    for name in ("run", "all"):
        sp = sub.add_parser(name, help="there: run posenet_ros.bench.gpu (all: receive, "
                            "unpack, run)")
        sp.add_argument("bench", nargs=argparse.REMAINDER,
                        help="arguments for posenet_ros.bench.gpu, after --")
    args = p.parse_args()
    if getattr(args, "bench", None) and args.bench[0] == "--":
        args.bench = args.bench[1:]
    return {"pack": pack, "receive": receive, "unpack": unpack, "run": run,
            "all": run_all}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
