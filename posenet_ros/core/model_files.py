"""Model files are read only when they are regular files of a plausible size.

``model`` comes from a parameter or the command line, and a wrong one must fail to load, not
take the process down: a FIFO blocks the reading thread forever, ``/dev/zero`` (or a link to
it) reads until memory runs out, and a multi-gigabyte file blocks for seconds before ONNX
Runtime refuses it. So every model file (ONNX, TF.js ``model.json`` and each weight shard) is
checked with ``os.stat`` first, links followed: a regular file, at most :data:`MAX_MODEL_BYTES`.
The real models are 5-30 MB.
"""
from __future__ import annotations

import os
from pathlib import Path
import stat

from posenet_ros.core.throttle import shorten

MAX_MODEL_BYTES = 512 * 1024 * 1024     # an ONNX file, or a TF.js model's shards together
MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024  # a TF.js model.json (topology and manifest only)

_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))


class ModelFileError(ValueError):
    """A model file that must not be read: missing, not a regular file, or too large."""


def checked_size(path: str | Path, what: str = "model file",
                 limit: int = MAX_MODEL_BYTES) -> int:
    """Return the size of ``path`` when it is a regular file of at most ``limit`` bytes.

    Raises :class:`ModelFileError` naming the file (shortened) and what it is instead.
    """
    name = shorten(str(path), 160)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelFileError(f"{what} {name} does not exist") from None
    except (OSError, ValueError) as exc:   # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ModelFileError(f"{what} {name} cannot be read ({reason})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((k for test, k in _KINDS if test(info.st_mode)), "special file")
        raise ModelFileError(f"{what} {name} is a {kind}, not a regular file: point it at "
                             "the model file itself")
    if info.st_size > limit:
        raise ModelFileError(f"{what} {name} is {info.st_size} bytes, more than the "
                             f"{limit // 2**20} MB a model file may have: not a pose model")
    return info.st_size
