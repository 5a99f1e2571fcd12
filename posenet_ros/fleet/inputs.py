"""What the fleet analyses: bags found from the command line, their names, topics and robots.

An input is a bag (a rosbag2 folder with ``metadata.yaml``, or a ``.mcap`` / ``.db3`` file), a
folder searched for bags (a bag folder is not searched further), a glob (``**`` allowed) or
``@list.txt`` (one input per line, relative to the list's folder; ``#`` starts a comment).
"""
from __future__ import annotations

from dataclasses import dataclass
import glob
import os
from pathlib import Path

from posenet_ros.bag.reader import BagError, IMAGE_TYPES, ImageBag, TopicInfo

BAG_SUFFIXES = (".mcap", ".db3")
GLOB_CHARS = "*?["


class InputError(ValueError):
    """An input that names nothing usable (the whole run stops before starting)."""


@dataclass(frozen=True)
class FleetBag:
    path: Path      # absolute
    name: str       # unique output folder name under OUT/bags


def expand_inputs(items: list[str], cwd: Path | None = None,
                  exclude: Path | None = None) -> list[FleetBag]:
    """Every bag the inputs name, each once, in a stable order, with unique names.

    Bags under ``exclude`` (the output folder: its pose bags are rosbag2 folders too) are
    left out, so an output folder inside the searched one is not analysed on the next run.
    """
    cwd = cwd or Path.cwd()
    found: dict[Path, None] = {}
    skip = exclude.resolve() if exclude is not None else None
    for item in items:
        for path in _expand(item, cwd, depth=0):
            path = path.resolve()
            if skip is None or not (path == skip or skip in path.parents):
                found.setdefault(path, None)
    if not found:
        raise InputError(f"no bags found in {' '.join(items)} (looked for rosbag2 folders "
                         f"with metadata.yaml, {' and '.join(BAG_SUFFIXES)} files)")
    paths = sorted(found)
    return [FleetBag(p, n) for p, n in zip(paths, _unique_names(paths))]


def _expand(item: str, cwd: Path, depth: int) -> list[Path]:
    if item.startswith("@"):
        if depth > 4:
            raise InputError(f"{item}: list files nest too deep")
        listing = cwd / item[1:]
        try:
            lines = listing.read_text().splitlines()
        except OSError as err:
            raise InputError(f"cannot read the list {listing}: {err.strerror}") from err
        out: list[Path] = []
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line:
                out += _expand(line, listing.parent, depth + 1)
        return out
    path = cwd / os.path.expanduser(item)
    if any(c in item for c in GLOB_CHARS) and not path.exists():
        matches = [Path(m) for m in sorted(glob.glob(str(path), recursive=True))]
        bags = [p for m in matches for p in _search(m)]
        if not bags:
            raise InputError(f"{item}: the pattern matches no bag")
        return bags
    if not path.exists():
        raise InputError(f"{item}: no such file or folder")
    bags = _search(path)
    if not bags:
        raise InputError(f"{item}: no bag in it (rosbag2 folder with metadata.yaml, "
                         f"{' or '.join(BAG_SUFFIXES)} file)")
    return bags


def _search(path: Path) -> list[Path]:
    """Find the bags at or under ``path`` (a rosbag2 folder's storage files are not bags)."""
    if path.is_file():
        if path.suffix not in BAG_SUFFIXES:
            return []
        # A storage file of a rosbag2 folder (a glob found it) stands for its folder.
        return [path.parent] if (path.parent / "metadata.yaml").is_file() else [path]
    if not path.is_dir():
        return []
    if (path / "metadata.yaml").is_file():
        return [path]
    bags: list[Path] = []
    for root, dirs, files in os.walk(path):
        here = Path(root)
        if (here / "metadata.yaml").is_file():
            bags.append(here)
            dirs.clear()
            continue
        dirs.sort()
        bags += [here / f for f in sorted(files) if f.endswith(BAG_SUFFIXES)]
    return bags


def _unique_names(paths: list[Path]) -> list[str]:
    """Output names: the bag's own name, with parent folders prefixed where two would clash."""
    def name(path: Path, parents: int) -> str:
        parts = [*path.parent.parts[len(path.parent.parts) - parents:], path.stem]
        return "__".join(p.strip("/") or "root" for p in parts)
    names = [name(p, 0) for p in paths]
    for parents in range(1, 64):
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            return names
        names = [name(p, parents) if n in clashes else n for p, n in zip(paths, names)]
    raise InputError("bag names cannot be told apart")  # same path twice: deduplicated before


def select_topic(bag: ImageBag, wanted: str | None) -> TopicInfo:
    """Return the bag's image topic: ``wanted`` by name, else the only image topic in it.

    A name without a leading slash also matches under a namespace (``camera/image_raw``
    finds ``/robot1/camera/image_raw``, else ``.../camera/image_raw/compressed``) when exactly
    one topic ends so; BagError otherwise.
    """
    topics = bag.topics
    images = [t for t in topics if t.msgtype in IMAGE_TYPES]
    listing = "; ".join(str(t) for t in images) or "none"
    if wanted is None:
        if len(images) != 1:
            raise BagError(f"{len(images)} image topics in {bag.path} ({listing}): "
                           "name one with --topic")
        return images[0]
    if wanted.startswith("/"):
        return bag.select(wanted)
    ends = [t for t in topics if t.name == "/" + wanted or t.name.endswith("/" + wanted)]
    if not ends:        # image_transport: the base name finds its compressed transport
        ends = [t for t in images if t.name.endswith(f"/{wanted}/compressed")]
    if len(ends) > 1:
        raise BagError(f"topic {wanted!r} matches {len(ends)} topics in {bag.path} "
                       f"({'; '.join(str(t) for t in ends)}): give the full name")
    return bag.select(ends[0].name if ends else wanted)


def robot_of(topic: str, bag: Path) -> str:
    """Name the robot a recording belongs to: the topic's first namespace, else the bag's folder.

    ``/robot1/camera/image_raw`` -> ``robot1``; ``/camera/image_raw`` in ``fleet/robot2/
    day1.mcap`` (or the rosbag2 folder ``fleet/robot2/day1/``) -> ``robot2``.
    """
    parts = [p for p in topic.split("/") if p]
    if parts and parts[-1] == "compressed":
        parts = parts[:-1]
    if len(parts) >= 3:
        return parts[0]
    return bag.parent.name or "(root)"
