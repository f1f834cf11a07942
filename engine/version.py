"""Revive's one version: shown in About and --version, written into batch reports and model cards.

The installed package's version, else the ``version`` of pyproject.toml (a checkout run with uv).
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

PACKAGE = "revive"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"  # engine/ -> the repository


def app_version(pyproject: Path = PYPROJECT) -> str:
    """'0.1.0'; 'unknown' when neither the package metadata nor pyproject.toml says."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        pass  # run from a checkout (uv's package = false): the project file says
    try:
        with open(pyproject, "rb") as handle:
            version = tomllib.load(handle).get("project", {}).get("version")
    except (OSError, tomllib.TOMLDecodeError):
        return "unknown"
    return version if isinstance(version, str) and version else "unknown"
