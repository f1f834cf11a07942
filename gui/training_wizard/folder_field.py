"""A folder chooser row: a line edit and a Browse… button."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget


class FolderField(QWidget):
    folder_edited = Signal(str)  # the text, after every change (typed or browsed)

    def __init__(self, caption: str, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._caption = caption
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton("Browse…")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse_button)
        self.edit.textChanged.connect(self.folder_edited)
        self.browse_button.clicked.connect(self._on_browse_button_clicked)

    def folder(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_folder(self, path: Path | str | None) -> None:
        self.edit.setText(str(path) if path else "")

    def _on_browse_button_clicked(self) -> None:
        start = self.folder()
        start_dir = str(start if start and start.is_dir() else (start.parent if start else Path.home()))
        chosen = QFileDialog.getExistingDirectory(self, self._caption, start_dir)
        if chosen:
            self.set_folder(chosen)
