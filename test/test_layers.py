"""The import graph points one way: model/ below the engine, tools above everything.

Read from the source (no imports), so a new upward arrow fails here with the module named.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "posenet_ros"
# What model/ may never import: everything that runs models rather than builds them.
ABOVE_MODEL = ("posenet_ros.estimator", "posenet_ros.runtime", "posenet_ros.families",
               "posenet_ros.decode", "posenet_ros.result", "posenet_ros.bench",
               "posenet_ros.bag", "posenet_ros.ros", "posenet_ros.cli")
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


def _sources(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "node_modules" not in p.parts)


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", _sources(ROOT / "model"), ids=lambda p: p.name)
def test_model_package_imports_nothing_that_runs_models(path):
    upward = sorted(n for n in _imports(path) if any(_under(n, a) for a in ABOVE_MODEL))
    assert not upward, f"{_module(path)} imports {upward}: model/ must stay below the engine"


def test_nothing_outside_the_tools_imports_them():
    users = {_module(p): sorted(n for n in _imports(p) if _under(n, TOOLS))
             for p in _sources(ROOT) if not _under(_module(p), TOOLS)}
    assert not {m: names for m, names in users.items() if names}


def test_the_layer_rules_see_real_imports():
    # The checks above would pass vacuously if _imports found nothing.
    assert "posenet_ros.ros.tools.node_process" in _imports(ROOT / "ros" / "tools" / "demo.py")
    assert "posenet_ros.model.io_names" in _imports(ROOT / "model" / "convert.py")
