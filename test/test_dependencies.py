"""Every third-party module the engine and CLI import is declared, for pip and for rosdep.

``pip install .`` then ``posenet-ros estimate photo.jpg`` failed with ``No module named
'scipy'``: tracking (on by default) imports it, and neither setup.py nor package.xml named it.
This reads every ``import`` in posenet_ros (outside ros/, bench/ and reference/, which need
ROS, the test tools or Node.js), finds each module's distribution from the installed
metadata, and checks it against setup.py's install_requires (posenet_ros/bag/ may use the
``bag`` extra) and against package.xml's exec_depends (rosdep keys). No ROS needed.
"""
from __future__ import annotations

import ast
import functools
import importlib.metadata
from pathlib import Path
import sys
import xml.etree.ElementTree as ElementTree

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "posenet_ros"
NOT_ENGINE = ("ros", "bench", "reference", "fleet")   # fleet: test_fleet_imports.py
EXTRA_FOR = {"bag": "bag"}           # subpackage -> the setup.py extra it may rely on

# The rosdep key that installs each distribution on a ROS machine (keys in ros/rosdistro's
# rosdep/python.yaml). "pip:X": no key; package.xml must say `pip install X` (X brings it).
ROSDEP = {
    "numpy": "python3-numpy",
    "opencv-python-headless": "python3-opencv",
    "onnxruntime": "python3-onnxruntime-pip",
    "scipy": "python3-scipy",
    "pyyaml": "python3-yaml",
    "matplotlib": "python3-matplotlib",
    "rosbags": "python3-rosbags-pip",
    "ruamel-yaml": "python3-rosbags-pip",       # rosbags' own dependencies
    "lz4": "python3-rosbags-pip",
    "backports-zstd": "python3-rosbags-pip",
    "onnx": "pip:onnx",
    "protobuf": "pip:onnx",
}


def _imports() -> dict[str, set[str]]:
    """Third-party top-level module -> the engine files importing it (optional ones left out).

    An import inside ``try`` whose handler catches ImportError is an alternative (e.g. the
    standard library's ``compression.zstd`` of Python 3.14, else ``backports.zstd``): it
    counts only where it is installed.
    """
    found: dict[str, set[str]] = {}
    for source in sorted(PACKAGE.rglob("*.py")):
        relative = source.relative_to(PACKAGE)
        if relative.parts[0] in NOT_ENGINE or "node_modules" in relative.parts:
            continue
        tree = ast.parse(source.read_text(), str(source))
        optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try)
                    and any(_catches_import_error(h) for h in t.handlers)
                    for s in t.body for n in ast.walk(s)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "posenet_ros":
                    continue
                if id(node) in optional and top not in _distributions():
                    continue
                found.setdefault(top, set()).add(relative.as_posix())
    return found


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
               for n in names)


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _setup_requirements() -> tuple[set[str], dict[str, set[str]]]:
    """install_requires and extras_require of setup.py, as canonical distribution names."""
    call = next(n for n in ast.walk(ast.parse((ROOT / "setup.py").read_text()))
                if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords
              if k.arg in ("install_requires", "extras_require")}

    def names(requirements):
        return {canonicalize_name(Requirement(r).name) for r in requirements}
    return (names(kwargs.get("install_requires", [])),
            {extra: names(reqs) for extra, reqs in kwargs.get("extras_require", {}).items()})


def _package_xml() -> tuple[set[str], str]:
    """exec_depend (and depend) keys of package.xml, and its comments' text."""
    root = ElementTree.parse(ROOT / "package.xml",
                             ElementTree.XMLParser(target=ElementTree.TreeBuilder(
                                 insert_comments=True))).getroot()
    keys = {e.text.strip() for e in root if e.tag in ("exec_depend", "depend")}
    comments = " ".join(e.text for e in root.iter() if e.tag is ElementTree.Comment)
    return keys, " ".join(comments.split())


@pytest.fixture(scope="module")
def imports():
    found = _imports()
    assert "numpy" in found and "cv2" in found, "the import scan found nothing"
    return found


def test_every_third_party_import_is_installed_here(imports):
    missing = {m: sorted(f) for m, f in imports.items() if m not in _distributions()}
    assert not missing, f"imported but not installed, so unknown to pip metadata: {missing}"


def test_setup_py_declares_every_import(imports):
    required, extras = _setup_requirements()
    undeclared = []
    for module, files in sorted(imports.items()):
        dists = {canonicalize_name(d) for d in _distributions().get(module, [])}
        for file in sorted(files):
            allowed = required | extras.get(EXTRA_FOR.get(file.split("/")[0], ""), set())
            if not dists & allowed:
                undeclared.append(f"{module} ({'/'.join(sorted(dists))}) in {file}")
    assert not undeclared, ("setup.py does not declare (install_requires, or the subpackage's "
                            "extra): " + "; ".join(undeclared))


def test_package_xml_declares_every_import(imports):
    keys, comments = _package_xml()
    problems = []
    for module in sorted(imports):
        for dist in sorted({canonicalize_name(d) for d in _distributions().get(module, [])}):
            key = ROSDEP.get(dist)
            if key is None:
                problems.append(f"{module} ({dist}): add its rosdep key to ROSDEP in this test "
                                "and an exec_depend to package.xml")
            elif key.startswith("pip:"):
                if f"pip install {key[4:]}" not in comments:
                    problems.append(f"{module} ({dist}) has no rosdep key: package.xml must "
                                    f"say `pip install {key[4:]}` in a comment")
            elif key not in keys:
                problems.append(f"{module} ({dist}): <exec_depend>{key}</exec_depend>")
    assert not problems, "package.xml: " + "; ".join(problems)
