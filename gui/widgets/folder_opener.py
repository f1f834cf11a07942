"""Showing a folder (or the file in it) in the system's file manager, and saying so when none opens.

``QDesktopServices.openUrl`` returns False when the desktop has no handler for folders (a bare
window manager, a container): then a launcher is tried directly, and if that fails too the caller
gets False and tells the user where the folder is, instead of a button that silently does nothing.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)

_LINUX_LAUNCHERS = (("xdg-open",), ("gio", "open"), ("kde-open5",), ("nautilus",), ("dolphin",), ("thunar",))


def launcher_command(folder: Path) -> list[str] | None:
    """The command that opens ``folder`` directly on this platform, or None when none is installed."""
    if sys.platform == "darwin":
        return ["open", str(folder)]
    if sys.platform == "win32":
        return ["explorer", str(folder)]
    for command in _LINUX_LAUNCHERS:
        if shutil.which(command[0]):
            return [*command, str(folder)]
    return None


def open_folder(folder: Path) -> bool:
    """Open ``folder`` in the file manager; False when nothing could open it."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        return True
    command = launcher_command(folder)
    if command is not None and QProcess.startDetached(command[0], command[1:]):
        return True
    log.warning("no file manager could open %s", folder)
    return False
