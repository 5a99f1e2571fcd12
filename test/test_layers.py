"""The import graph points one way, layer by layer, and each family keeps to its folder.

Read from the source (no imports), so a new upward arrow fails here with the module named.
A package may import its own modules and anything in a lower layer, never a sibling or a
higher one; the estimator is the one module at the top level.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "posenet_ros"
# Lowest first. docs/design.md draws the same picture.
LAYERS = (
    ("core",),                              # poses, keypoints, results, config, errors, paths
    ("imaging", "camera", "filters"),       # pixels in, camera geometry, signal filters
    ("runtime", "convert"),                 # ONNX Runtime sessions; TF.js graphs -> ONNX
    ("families",),                          # PoseNet, MoveNet: preprocess, session, decode
    ("estimator",),                         # the engine's facade
    ("stages",),                            # the pipeline after the engine: tracks, 3D
    ("outputs",),                           # message builders, markers, drawing
    ("quantize", "reference", "reactions"),  # int8 models; Node.js references; gestures
    ("bag",),                               # offline analysis of recordings
    ("fleet",),                             # many recordings on Ray (the only Ray user)
    ("ros",),                               # the only rclpy adapters
    ("bench",),                             # benchmarks (the node's message cost too)
    ("cli",),                               # the posenet-ros command
)
LAYER = {package: index for index, packages in enumerate(LAYERS) for package in packages}
TOOLS = "posenet_ros.ros.tools"


def _module(path: Path) -> str:
    parts = ("posenet_ros",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Absolute names ``path`` imports, at any depth (lazy imports in functions count)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "node_modules" not in p.parts)


def _package(name: str) -> str | None:
    """Top-level package of a posenet_ros module name (None: not ours, or the msg package)."""
    parts = name.split(".")
    if parts[0] != "posenet_ros" or len(parts) < 2 or parts[1] == "msg":
        return None
    return parts[1]


def test_every_package_has_a_layer():
    tops = {p.name.removesuffix(".py") for p in ROOT.iterdir()
            if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert tops - {"__init__"} == set(LAYER), "a new top-level package needs a place in LAYERS"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: _module(p))
def test_imports_point_down(path):
    own = _package(_module(path))
    if own is None:
        return
    wrong = sorted(name for name in _imports(path)
                   if (other := _package(name)) is not None and other != own
                   and other in LAYER and LAYER[other] >= LAYER[own])
    assert not wrong, f"{_module(path)} (layer {own}) imports {wrong}: only lower layers"


def test_a_family_is_reached_only_through_the_registry():
    families = sorted(p.name for p in (ROOT / "families").iterdir()
                      if p.is_dir() and (p / "__init__.py").exists())
    wrong = {}
    for path in _sources():
        module = _module(path)
        for family in families:
            inside = f"posenet_ros.families.{family}"
            if module.startswith(inside) or module == "posenet_ros.families":
                continue
            hits = sorted(n for n in _imports(path) if n == inside or n.startswith(inside + "."))
            if hits:
                wrong[module] = hits
    assert not wrong, f"import a family through posenet_ros.families only: {wrong}"


def test_nothing_outside_the_tools_imports_them():
    users = {_module(p): sorted(n for n in _imports(p) if n.startswith(TOOLS))
             for p in _sources() if not _module(p).startswith(TOOLS)}
    assert not {m: names for m, names in users.items() if names}


def test_the_layer_rules_see_real_imports():
    # The checks above would pass vacuously if _imports found nothing.
    assert "posenet_ros.ros.tools.node_process" in _imports(ROOT / "ros" / "tools" / "demo.py")
    assert "posenet_ros.convert.io_names" in _imports(ROOT / "convert" / "models.py")
