"""Before/after thumbnails of the held-out old photos: the photo, the base model's colours, the current ones.

Fed with ``PreviewReady.images`` tuples (file name, before ``(h, w, 3)`` uint8, after ``(h, w, 3)`` uint8);
pixmaps are made here, on the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from gui.widgets.qt_images import to_pixmap

THUMBNAIL_HEIGHT = 88
Images = tuple[tuple[str, np.ndarray, np.ndarray], ...]


class PreviewGrid(QWidget):
    def __init__(self, current_title: str = "Now", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._layout.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self._base: dict[str, np.ndarray] = {}
        self._current: Images = ()
        self._current_title = current_title
        self._cells: list[QWidget] = []
        self._placeholder = QLabel("The held-out photos appear here once training has started.")
        self._placeholder.setObjectName("Hint")
        self._layout.addWidget(self._placeholder, 0, 0)

    def set_base(self, images: Images) -> None:
        """The previews of the base model (step 0): the "before fine-tuning" column."""
        self._base = {name: after for name, _, after in images}
        self._rebuild()

    def set_current(self, images: Images, title: str) -> None:
        self._current, self._current_title = images, title
        self._rebuild()

    def photo_count(self) -> int:
        return len(self._current)

    def current_title(self) -> str:
        """The caption of the third column (which step it shows)."""
        return self._current_title

    def _rebuild(self) -> None:
        for cell in self._cells:
            self._layout.removeWidget(cell)
            cell.deleteLater()
        self._cells = []
        self._placeholder.setVisible(not self._current)
        if not self._current:
            return
        for column, title in enumerate(("Old photo", "Base model", self._current_title)):
            self._add(self._caption(title), 0, column)
        for row, (name, before, after) in enumerate(self._current, start=1):
            base = self._base.get(name)
            for column, image in enumerate((before, base, after)):
                label = QLabel()
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                label.setToolTip(name)
                if image is None:
                    label.setText("—")
                else:
                    label.setPixmap(_thumbnail(to_pixmap(image)))
                self._add(label, row, column)

    def _add(self, widget: QWidget, row: int, column: int) -> None:
        self._layout.addWidget(widget, row, column)
        self._cells.append(widget)

    @staticmethod
    def _caption(text: str) -> QLabel:
        label = QLabel(f"<b>{text}</b>")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label


def _thumbnail(pixmap: QPixmap) -> QPixmap:
    return pixmap.scaledToHeight(THUMBNAIL_HEIGHT, Qt.TransformationMode.SmoothTransformation)
