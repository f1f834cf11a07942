"""Icons: Revive's own SVGs from resources/icons, else a standard icon of the current style."""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QStyle, QWidget

from engine.paths import resources_dir


def icon(name: str, fallback: QStyle.StandardPixmap, widget: QWidget) -> QIcon:
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else widget.style().standardIcon(fallback)
