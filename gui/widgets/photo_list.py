"""The photo strip: one row per opened photo with its thumbnail and status.

It only mirrors what the controller tells it (rows added and removed, statuses, thumbnails) and
reports which photo the user picked. Rows are keyed by the photo's path. Several rows can be
selected (Ctrl/Shift+click) for removing or exporting; the current row is the photo on show. Its
context menu holds the actions the window adds to it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QStyle, QWidget

from gui.models.photo_session import PhotoStatus

THUMBNAIL_SIDE = 64
NAME_CHARACTERS = 34  # a longer name is shortened in its middle (the suffix stays visible)
_PATH_ROLE = Qt.ItemDataRole.UserRole
_STATUS_COLOURS = {
    PhotoStatus.DONE: "#7cc48f",
    PhotoStatus.FAILED: "#f07a72",
    PhotoStatus.WORKING: "#e8c15a",
    PhotoStatus.CANCELLED: "#9aa0a8",
    PhotoStatus.ASK: "#e8c15a",
    PhotoStatus.KEPT: "#9ec3e6",
}


def short_name(name: str, limit: int = NAME_CHARACTERS) -> str:
    """``name`` with its middle elided past ``limit`` characters: 'grandma_and_gr…1952.jpg'."""
    if len(name) <= limit:
        return name
    head = (limit - 1) // 2
    return f"{name[:head]}…{name[-(limit - 1 - head) :]}"


def reason_without_name(name: str, message: str) -> str:
    """The reason of a failure without the file name the row already shows in front of it."""
    for prefix in (f"{name}: ", f"'{name}': ", f'"{name}": '):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


class PhotoList(QListWidget):
    current_photo_changed = Signal(object)  # Path, or None when the list is empty

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PhotoList")
        self.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setUniformItemSizes(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)  # a reason is cut at its end, never its middle
        self.setSpacing(2)
        self.setMinimumWidth(220)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._rows: dict[Path, QListWidgetItem] = {}
        self._placeholder = self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        self._texts: dict[Path, tuple[str, str]] = {}
        self.currentItemChanged.connect(self._on_self_current_item_changed)

    def add_photo(self, path: Path) -> None:
        if path in self._rows:
            return
        item = QListWidgetItem(self._placeholder, "")
        item.setData(_PATH_ROLE, str(path))
        item.setSizeHint(QSize(0, THUMBNAIL_SIDE + 10))
        self.addItem(item)
        self._rows[path] = item
        self.set_status(path, PhotoStatus.NEW)

    def remove_photos(self, paths: list[Path]) -> None:
        """Take rows away; the current row moves to the next photo (or none)."""
        for path in paths:
            item = self._rows.pop(Path(path), None)
            self._texts.pop(Path(path), None)
            if item is not None:
                self.takeItem(self.row(item))
        if self.currentItem() is None:
            self.current_photo_changed.emit(None)

    def set_status(self, path: Path, status: PhotoStatus, message: str = "") -> None:
        item = self._rows.get(path)
        if item is None:
            return
        message = reason_without_name(path.name, message)
        line = status.value if not message else f"{status.value}: {message}"
        item.setText(f"{short_name(path.name)}\n{line}")
        item.setToolTip(f"{path}\n{line}")  # the whole reason, however long
        colour = _STATUS_COLOURS.get(status)
        item.setForeground(QBrush(QColor(colour)) if colour else QBrush())
        self._texts[path] = (status.value, message)

    def status_text(self, path: Path) -> str:
        """The status line shown for ``path`` (e.g. 'Failed: cannot read…')."""
        status, message = self._texts.get(path, ("", ""))
        return status if not message else f"{status}: {message}"

    def tooltip(self, path: Path) -> str:
        item = self._rows.get(path)
        return item.toolTip() if item is not None else ""

    def set_thumbnail(self, path: Path, pixmap: QPixmap) -> None:
        item = self._rows.get(path)
        if item is not None:
            icon = QIcon(pixmap)
            icon.addPixmap(pixmap, QIcon.Mode.Selected)  # no selection tint over the photo
            item.setIcon(icon)

    def paths(self) -> list[Path]:
        return [Path(self.item(row).data(_PATH_ROLE)) for row in range(self.count())]

    def selected_paths(self) -> list[Path]:
        """The selected photos in list order (the current one when nothing else is selected)."""
        selected = {id(item) for item in self.selectedItems()}
        chosen = [Path(self.item(r).data(_PATH_ROLE)) for r in range(self.count()) if id(self.item(r)) in selected]
        if not chosen and self.currentItem() is not None:
            chosen = [self.current_path()]
        return chosen

    def current_path(self) -> Path | None:
        item = self.currentItem()
        return Path(item.data(_PATH_ROLE)) if item is not None else None

    def select_path(self, path: Path) -> None:
        item = self._rows.get(path)
        if item is not None:
            self.setCurrentItem(item)

    def select_next(self) -> None:
        self._step(1)

    def select_previous(self) -> None:
        self._step(-1)

    def _step(self, offset: int) -> None:
        if self.count():
            row = self.currentRow()
            self.setCurrentRow(max(0, min(self.count() - 1, (row if row >= 0 else -offset) + offset)))

    def _on_self_current_item_changed(self, current: QListWidgetItem | None, _previous) -> None:
        self.current_photo_changed.emit(Path(current.data(_PATH_ROLE)) if current is not None else None)
