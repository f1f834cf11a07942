"""The status bar's field for an export finished by added models (upscaling, faces): what it is
doing, how far it is, and a Cancel button. Hidden while no such export runs."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from gui.models.jobs import ExportProgress


class ExportProgressField(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setObjectName("StatusField")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setFixedWidth(120)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the export (photos already written stay)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.hide()

    def show_progress(self, progress: ExportProgress) -> None:
        self.label.setText(progress.text())
        self.bar.setValue(progress.percent)
        self.cancel_button.setEnabled(True)
        self.show()

    def show_waiting(self, text: str) -> None:
        """Before the first progress (the export waits for the device, or models load)."""
        self.label.setText(text)
        self.bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self.show()

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_button.setEnabled(False)  # once: the export stops at its next tile
        self.label.setText("Cancelling the export…")
        self.cancel_requested.emit()
