"""The project installs as a package with a `revive` console script, and has one version."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import main
from engine.version import app_version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_console_script_is_main_main():
    assert PYPROJECT["project"]["scripts"]["revive"] == "main:main"
    assert callable(main.main)
    assert PYPROJECT.get("tool", {}).get("uv", {}).get("package", True) is not False
    included = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"]
    assert {"engine", "training", "gui", "main.py", "resources"} <= set(included)


def test_the_version_is_the_project_version():
    assert app_version() == PYPROJECT["project"]["version"]


def test_revive_version_runs_from_the_environment():
    script = Path(sys.executable).parent / "revive"
    if not script.exists():
        script = shutil.which("revive")
    if script is None:
        pytest.skip("the project is not installed in this environment (uv sync installs it)")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"revive {PYPROJECT['project']['version']}"


def test_the_changelog_names_every_release():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text and "## [0.1.0]" in text
