"""Linters as ROS 2 packages run them (ament_flake8, ament_pep257), over all our Python code.

The flake8 configuration is setup.cfg's: ament_flake8's own, plus the project's choice of
double quotes. pep257 uses ament's convention, except that a docstring's summary may start on
its first line (D213 off), as in PEP 257's own examples.
"""
from __future__ import annotations

from pathlib import Path

from ament_flake8.main import main_with_errors
from ament_pep257.main import main as pep257_main
import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = [str(p) for p in (ROOT / "posenet_ros", ROOT / "test", ROOT / "launch",
                          ROOT / "tools", ROOT / "setup.py") if p.exists()]
EXCLUDE = ["node_modules"]


@pytest.mark.linter
@pytest.mark.flake8
def test_flake8(monkeypatch, tmp_path):
    # ament_flake8 walks the working directory for AMENT_IGNORE files: keep that walk empty.
    monkeypatch.chdir(tmp_path)
    rc, errors = main_with_errors(argv=["--config", str(ROOT / "setup.cfg"),
                                        "--exclude", *EXCLUDE, "--", *PATHS])
    assert rc == 0, f"{len(errors)} flake8 errors:\n" + "\n".join(errors)


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    rc = pep257_main(argv=["--add-ignore", "D213", "--exclude", *EXCLUDE, "--", *PATHS])
    assert rc == 0, "pep257 errors: see the captured output"
