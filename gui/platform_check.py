"""What Qt needs from the system before the app can open a window, checked before QApplication.

On X11, Qt 6.5+ cannot load its xcb platform plugin without libxcb-cursor; Qt then aborts with a
long plugin message. Checking first lets the app say in one line which package to install.
"""

from __future__ import annotations

import ctypes.util
import sys
from collections.abc import Callable, Mapping

XCB_CURSOR_MESSAGE = (
    "revive: Qt needs the XCB cursor library to open a window on X11: "
    "install libxcb-cursor0 (Debian/Ubuntu) or xcb-util-cursor (Fedora/Arch)"
)


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """True when Qt will use its X11 (xcb) plugin: asked for by QT_QPA_PLATFORM, or left to choose
    on Linux with an X display and no Wayland one."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if chosen:
        return chosen == "xcb"
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def missing_system_library(
    environ: Mapping[str, str],
    platform: str = sys.platform,
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
) -> str | None:
    """A one-line message naming the package to install, or None when nothing is missing."""
    if uses_xcb(environ, platform) and find_library("xcb-cursor") is None:
        return XCB_CURSOR_MESSAGE
    return None
