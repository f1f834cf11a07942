"""Where Revive's files live: the shipped resources and the user's data folder.

``REVIVE_HOME`` overrides the user data folder (models, settings, training runs); tests and scripts
rely on it. Resources are found from this package's own location, never the working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "Revive"


def resources_dir() -> Path:
    """The repository's ``resources/`` folder (icons, styles, shipped models)."""
    return Path(__file__).resolve().parent.parent / "resources"


def shipped_models_dir() -> Path:
    return resources_dir() / "models"


def revive_home() -> Path:
    """The user data folder: ``$REVIVE_HOME`` if set, else the platform's usual place."""
    override = os.environ.get("REVIVE_HOME")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return base / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME.lower()


def user_models_dir() -> Path:
    return revive_home() / "models"


def runs_dir() -> Path:
    """Training runs (resumable state, previews, logs)."""
    return revive_home() / "runs"


def log_dir() -> Path:
    """Where the app and the commands keep their rotating log (``REVIVE_HOME/logs`` when that is
    set, else the platform's log folder)."""
    override = os.environ.get("REVIVE_HOME")
    if override:
        return Path(override).expanduser() / "logs"
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME.lower(), appauthor=False))


def cache_dir() -> Path:
    """Disposable data (the app's result cache): the platform's cache folder, never the roaming
    profile (``REVIVE_HOME/cache`` when that is set)."""
    override = os.environ.get("REVIVE_HOME")
    if override:
        return Path(override).expanduser() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME.lower(), appauthor=False))


def settings_path() -> Path:
    """The settings file (INI) shared by the app and the command line."""
    return revive_home() / "settings.ini"
