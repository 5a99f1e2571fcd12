"""Nothing lost, nothing redone: keys that say a bag's outputs are current, and atomic outputs.

A bag's outputs are written to ``OUT/bags/<name>.tmp-<pid>/`` and renamed to
``OUT/bags/<name>/`` only once complete, with ``fleet.json`` holding the key they were made
for. The key hashes the input's content and the settings; a rerun skips a bag whose key
matches. The content is fingerprinted by every file's name, size and modification time plus
the sha256 of ``metadata.yaml`` (cheap on hours of recording); ``content_hash`` reads every
byte instead (for copies that do not keep modification times).
"""
from __future__ import annotations

from collections.abc import Iterator
import contextlib
import fcntl
import hashlib
import json
import os
from pathlib import Path
import shutil

RECORD = "fleet.json"          # in each bag's output folder
TMP_MARK = ".tmp-"
OLD_MARK = ".old-"
CHUNK = 1 << 20


class BusyError(RuntimeError):
    """Another fleet run holds the output folder."""


def bag_files(bag: Path) -> list[Path]:
    if bag.is_file():
        return [bag]
    return sorted(p for p in bag.rglob("*") if p.is_file())


def fingerprint(bag: Path, content_hash: bool = False) -> str:
    """Hash of the bag's content: stat-based by default, every byte with ``content_hash``."""
    digest = hashlib.sha256()
    for path in bag_files(bag):
        stat = path.stat()
        digest.update(f"{path.relative_to(bag) if bag.is_dir() else path.name}\0"
                      f"{stat.st_size}\0".encode())
        if content_hash or path.name == "metadata.yaml":
            with path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
        else:
            digest.update(f"{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def job_key(content: str, settings: dict) -> str:
    """Key one bag's outputs on its content's fingerprint and every setting that shapes them."""
    text = json.dumps({"content": content, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_record(folder: Path) -> dict | None:
    """Return the record of a finished bag's outputs, or None when absent or unreadable."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def read_failures(path: Path) -> dict[str, dict]:
    """Return the bags that failed for what they hold, by name, with their keys."""
    try:
        failures = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return failures if isinstance(failures, dict) else {}


def write_record(folder: Path, record: dict) -> None:
    path = folder / RECORD
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def tmp_folder(bags_dir: Path, name: str) -> Path:
    return bags_dir / f"{name}{TMP_MARK}{os.getpid()}"


def publish(tmp: Path, final: Path) -> None:
    """Move a complete output folder into place; an older one is swapped out, then removed.

    A reader sees either the old complete folder or the new one (a crash between the two
    renames leaves the old one as ``<name>.old-<pid>``, removed by the next run).
    """
    old = None
    if final.exists() or final.is_symlink():
        old = final.with_name(f"{final.name}{OLD_MARK}{os.getpid()}")
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        _remove(old)


def remove_partial(bags_dir: Path) -> list[str]:
    """Remove folders left by an interrupted run (the caller holds the lock); their names."""
    removed = []
    if bags_dir.is_dir():
        for path in sorted(bags_dir.iterdir()):
            if TMP_MARK in path.name or OLD_MARK in path.name:
                _remove(path)
                removed.append(path.name)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``OUT/.fleet.lock`` for the run: two runs on one output folder would clash."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".fleet.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise BusyError(f"another posenet-ros fleet run is writing to {out_dir}; wait for "
                            "it or choose another output folder") from err
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
