"""The photo strip: one row per opened photo with its thumbnail and status.

It only mirrors what the controller tells it (rows added, statuses, thumbnails) and reports which
photo the user picked. Rows are keyed by the photo's path.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QStyle, QWidget

from gui.photo_session import PhotoStatus

THUMBNAIL_SIDE = 64
_PATH_ROLE = Qt.ItemDataRole.UserRole
_STATUS_COLOURS = {
    PhotoStatus.DONE: "#7cc48f",
    PhotoStatus.FAILED: "#f07a72",
    PhotoStatus.WORKING: "#e8c15a",
    PhotoStatus.CANCELLED: "#9aa0a8",
}


class PhotoList(QListWidget):
    current_photo_changed = Signal(object)  # Path, or None when the list is empty

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PhotoList")
        self.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSpacing(2)
        self.setMinimumWidth(220)
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

    def set_status(self, path: Path, status: PhotoStatus, message: str = "") -> None:
        item = self._rows.get(path)
        if item is None:
            return
        if message.startswith(f"{path.name}: "):
            message = message[len(path.name) + 2:]  # the row already names the file
        line = status.value if not message else f"{status.value}: {message}"
        item.setText(f"{path.name}\n{line}")
        item.setToolTip(f"{path}\n{line}")
        colour = _STATUS_COLOURS.get(status)
        item.setForeground(QBrush(QColor(colour)) if colour else QBrush())
        self._texts[path] = (status.value, message)

    def status_text(self, path: Path) -> str:
        """The status line shown for ``path`` (e.g. 'Failed: cannot read…')."""
        status, message = self._texts.get(path, ("", ""))
        return status if not message else f"{status}: {message}"

    def set_thumbnail(self, path: Path, pixmap: QPixmap) -> None:
        item = self._rows.get(path)
        if item is not None:
            icon = QIcon(pixmap)
            icon.addPixmap(pixmap, QIcon.Mode.Selected)  # no selection tint over the photo
            item.setIcon(icon)

    def paths(self) -> list[Path]:
        return [Path(self.item(row).data(_PATH_ROLE)) for row in range(self.count())]

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
