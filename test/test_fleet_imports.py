"""Ray and pyarrow stay inside posenet_ros/fleet, declared and hash-locked as the ``fleet`` extra.

The node and the engine must install and import without them (they are a large optional
extra), so an ``import ray`` anywhere else, even inside a function, fails here by name.
"""
from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path
import re
import subprocess
import sys

from packaging.utils import canonicalize_name
import pytest
from test_dependencies import _setup_requirements

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "posenet_ros"
FLEET_ONLY = {"ray", "pyarrow"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _top_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_fleet_package_imports_ray_or_pyarrow():
    offenders = [f"{path.relative_to(ROOT)}: {sorted(_top_imports(path) & FLEET_ONLY)}"
                 for path in sorted(PACKAGE.rglob("*.py"))
                 if "fleet" not in path.relative_to(PACKAGE).parts[:1]
                 and "node_modules" not in path.parts and _top_imports(path) & FLEET_ONLY]
    assert not offenders, f"only posenet_ros/fleet may import Ray or pyarrow: {offenders}"


@pytest.mark.integration     # a process of its own
def test_the_cli_loads_without_ray():
    code = ("import sys; import posenet_ros.cli.main, posenet_ros.cli.fleet; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'pyarrow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    assert out == "[]", f"`posenet-ros` imported {out} before any fleet run"


@pytest.mark.integration     # a process of its own
def test_without_ray_the_command_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['ray'] = None; from posenet_ros.cli.main import main; "
            f"sys.exit(main(['fleet', {str(tmp_path)!r}, '-o', {str(tmp_path / 'out')!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2, run.stderr
    assert "ray is not installed" in run.stderr
    assert "requirements/fleet.txt" in run.stderr
    assert not (tmp_path / "out").exists()


def test_fleet_imports_are_declared_in_its_extras():
    required, extras = _setup_requirements()
    allowed = required | extras["bag"] | extras["fleet"]
    dists = importlib.metadata.packages_distributions()
    undeclared = []
    for path in sorted((PACKAGE / "fleet").rglob("*.py")):
        for module in sorted(_top_imports(path) - STDLIB - {"posenet_ros"}):
            names = {canonicalize_name(d) for d in dists.get(module, [module])}
            if not names & allowed:
                undeclared.append(f"{module} in {path.name}")
    assert not undeclared, f"setup.py's fleet extra lacks: {undeclared}"
    assert {"ray", "pyarrow"} <= extras["fleet"]


def test_fleet_lock_pins_and_hashes_every_package():
    text = (ROOT / "requirements" / "fleet.txt").read_text()
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})$",
                         text, re.M)
    pinned = {name for name, _, _ in entries}
    listed = {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", text, re.M)}
    assert listed == pinned, f"without a sha256: {sorted(listed - pinned)}"
    assert {"ray", "pyarrow"} <= pinned
    wanted = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)$", (ROOT / "requirements" /
                                                          "fleet.in").read_text(), re.M))
    got = {name: version for name, version, _ in entries}
    assert all(got.get(name) == version for name, version in wanted.items()), (wanted, got)


def test_installed_fleet_versions_are_the_locked_ones():
    pytest.importorskip("ray", reason="the fleet extra is not installed "
                                      "(pip install --require-hashes -r requirements/fleet.txt)")
    text = (ROOT / "requirements" / "fleet.txt").read_text()
    for name, version in re.findall(r"^(ray|pyarrow)==(\S+) ", text, re.M):
        assert importlib.metadata.version(name) == version
