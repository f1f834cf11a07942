"""A small view of a colour photo opened as a reference: click it to pick the colour under the pointer
(the eyedropper); its colour statistics can be matched by the whole photo.

Opening asks for a file with a non-blocking dialog; reading the file and computing its statistics
run on the background pool (``gui.workers.background_tasks``), so a large reference never stalls the
window. Only the last photo asked for is shown, however the reads finish.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QSizePolicy, QWidget

from engine.hints.schema import reference_stats
from engine.imaging import IMAGE_SUFFIXES
from gui.models.hint_reference import colour_at, load_reference_photo
from gui.widgets.qt_images import to_pixmap
from gui.workers.background_tasks import BackgroundTasks

_BACKGROUND = QColor("#1b1d21")


class HintReferenceView(QWidget):
    """A reference photo to pick colours from (see the module docstring)."""

    photo_loaded = Signal(object)  # Path
    load_failed = Signal(str)  # why, for people
    colour_picked = Signal(str)  # "#rrggbb" under the pointer
    stats_ready = Signal(object)  # engine.hints.schema.ReferenceStats of the photo on show

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HintReferenceView")
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Click to take the colour under the pointer")
        self._tasks = tasks
        self._rgb: np.ndarray | None = None
        self._pixmap: QPixmap | None = None
        self._path: Path | None = None
        self._asked = 0  # serial of the last load asked for: older reads that finish late are dropped

    def sizeHint(self):
        size = super().sizeHint()
        size.setHeight(160)
        return size

    # -- opening ----------------------------------------------------------------------------------
    def choose_file(self, folder: Path | None = None) -> QFileDialog:
        """Ask for a colour photo without blocking; the choice is loaded when the dialog closes."""
        pattern = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        dialog = QFileDialog(
            self, "Open a colour photo as a reference", str(folder or Path.home()), f"Photos ({pattern});;All files (*)"
        )
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda name: self.load(Path(name)))
        dialog.open()  # not exec(): the window (and the photo being hinted) stays usable
        return dialog

    def load(self, path: Path) -> None:
        """Read ``path`` in the background and show it (``photo_loaded`` or ``load_failed``)."""
        self._asked += 1
        serial = self._asked
        self._tasks.submit(
            load_reference_photo,
            Path(path),
            on_done=lambda rgb: self._on_tasks_loaded(serial, Path(path), rgb),
            on_failed=lambda message: self._on_tasks_failed(serial, message),
        )

    def _on_tasks_loaded(self, serial: int, path: Path, rgb: np.ndarray) -> None:
        if serial != self._asked:
            return
        self._rgb, self._path, self._pixmap = rgb, path, to_pixmap(rgb)
        self.update()
        self.photo_loaded.emit(path)

    def _on_tasks_failed(self, serial: int, message: str) -> None:
        if serial == self._asked:
            self.load_failed.emit(message)

    def has_photo(self) -> bool:
        return self._rgb is not None

    def path(self) -> Path | None:
        return self._path

    # -- colours ----------------------------------------------------------------------------------
    def compute_stats(self) -> bool:
        """Compute the photo's a*b* statistics in the background (``stats_ready``); False without a photo."""
        if self._rgb is None:
            return False
        self._tasks.submit(reference_stats, self._rgb, on_done=self.stats_ready.emit, on_failed=self.load_failed.emit)
        return True

    def pick_at(self, x: float, y: float) -> str | None:
        """Pick the colour at (x, y), 0..1 of the reference photo (as a click there does)."""
        if self._rgb is None:
            return None
        colour = colour_at(self._rgb, x, y)
        self.colour_picked.emit(colour)
        return colour

    def image_rect(self) -> QRectF:
        """Where the photo lies in the widget: fitted, aspect kept, centred."""
        if self._pixmap is None:
            return QRectF()
        scale = min(self.width() / self._pixmap.width(), self.height() / self._pixmap.height())
        width, height = self._pixmap.width() * scale, self._pixmap.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        rect = self.image_rect()
        position: QPointF = event.position()
        if event.button() != Qt.MouseButton.LeftButton or not self.isEnabled() or not rect.contains(position):
            super().mousePressEvent(event)
            return
        self.pick_at((position.x() - rect.x()) / rect.width(), (position.y() - rect.y()) / rect.height())
        event.accept()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), _BACKGROUND)
        if self._pixmap is None:
            painter.setPen(QColor("#8a9099"))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(
                self.rect().adjusted(8, 8, -8, -8),
                flags,
                "Open a colour photo of the same place or thing to pick its colours",
            )
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(self.image_rect(), self._pixmap, QRectF(self._pixmap.rect()))
        painter.end()
