"""A row of colour swatches to click: the model's suggestions at a spot, or the recent colours."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

SWATCH_PX = 22


def swatch_icon(colour: str, size: int = SWATCH_PX) -> QIcon:
    """A rounded square of ``colour`` with a thin frame (seen on light and dark themes alike)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(QPen(QColor(128, 128, 128, 200), 1))
    painter.drawRoundedRect(QRectF(0.5, 0.5, size - 1, size - 1), 4, 4)
    painter.end()
    return QIcon(pixmap)


class SwatchRow(QWidget):
    """Colour buttons in a row; ``colour_chosen`` says which was clicked. With no colours, the
    ``empty_text`` says why there are none."""

    colour_chosen = Signal(str)  # "#rrggbb"

    def __init__(self, empty_text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._empty = QLabel(empty_text)
        self._empty.setObjectName("Hint")
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty, 1)
        self._layout.addStretch(0)  # swatches stay packed at the left
        self._buttons: list[QToolButton] = []
        self._colours: tuple[str, ...] = ()

    def set_colours(self, colours: Sequence[str]) -> None:
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        self._colours = tuple(colours)
        for colour in self._colours:
            button = QToolButton(self)
            button.setObjectName("HintSwatch")
            button.setIcon(swatch_icon(colour))
            button.setIconSize(QSize(SWATCH_PX, SWATCH_PX))
            button.setAutoRaise(True)
            button.setToolTip(colour)
            button.setAccessibleName(f"Colour {colour}")
            button.clicked.connect(lambda _=False, c=colour: self.colour_chosen.emit(c))
            self._layout.insertWidget(len(self._buttons), button)
            self._buttons.append(button)
        self._empty.setVisible(not self._colours)

    def colours(self) -> tuple[str, ...]:
        return self._colours

    def buttons(self) -> list[QToolButton]:
        return list(self._buttons)
