"""The Add Model dialog: the new model's name (checked as it is typed) and where it came from.

It never adds anything itself: Add emits ``add_requested`` and the dialog shows a busy bar until
its owner calls ``finish`` (added) or ``show_failure`` (the engine's one-line reason; the user may
change the name and try again, or cancel).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from engine.external.naming import MAX_SOURCE_LENGTH

ERROR_COLOUR = "#c62828"


class AddModelDialog(QDialog):
    add_requested = Signal(object, str, str)  # the file (Path), its name, where it came from

    def __init__(self, path: Path, name_problem: Callable[[str], str], parent: QWidget | None = None) -> None:
        """``name_problem(name)`` says why a name cannot be used ('' when it can)."""
        super().__init__(parent)
        self.path = Path(path)
        self._name_problem = name_problem
        self._busy = False
        self._shown = ""  # the line under the fields, as plain text
        self.setWindowTitle("Add Model")
        self.setMinimumWidth(480)  # the explanation and a one-line reason fit without a tall wrap
        intro = QLabel(
            f"<b>{html.escape(self.path.name)}</b><br>Revive reads it without running any code from it, "
            "finds out what kind of model it is, and keeps a copy beside a card that says where it came from."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.name = QLineEdit(self.path.stem)
        self.source = QLineEdit()
        self.source.setMaxLength(MAX_SOURCE_LENGTH)
        self.source.setPlaceholderText("Optional: the project, page or licence")
        self.problem = QLabel()
        self.problem.setTextFormat(Qt.TextFormat.RichText)
        self.problem.setWordWrap(True)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # busy: how long spandrel takes is not known in advance
        self.busy_bar.setFormat("Examining the file…")
        self.busy_bar.setTextVisible(True)
        self.busy_bar.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setDefault(True)

        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Source:", self.source)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.buttons)

        self.name.textChanged.connect(self._on_name_text_changed)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self._on_buttons_rejected)
        self._on_name_text_changed(self.name.text())

    def name_problem_text(self) -> str:
        return self._name_problem(self.name.text())

    def is_busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_bar.setVisible(busy)
        for widget in (self.name, self.source, self.buttons):
            widget.setEnabled(not busy)
        if not busy:
            self._on_name_text_changed(self.name.text())

    def show_failure(self, message: str) -> None:
        """Adding failed: say why (one line) and let the user try again or cancel."""
        self.set_busy(False)
        self._say(f"Not added: {message}")

    def finish(self) -> None:
        """The model was added: close."""
        self.set_busy(False)
        self.accept()

    def shown_problem(self) -> str:
        """The line the dialog shows under the fields ('' when none), as plain text."""
        return self._shown

    def _say(self, problem: str) -> None:
        self._shown = problem
        self.problem.setText(f'<span style="color:{ERROR_COLOUR}">{html.escape(problem)}</span>' if problem else "")

    def _on_name_text_changed(self, _text: str) -> None:
        problem = self.name_problem_text()
        self._say(problem)
        self.add_button.setEnabled(not problem and not self._busy)

    def _on_buttons_accepted(self) -> None:
        if self._busy or self.name_problem_text():
            return
        self.set_busy(True)
        self.add_requested.emit(self.path, self.name.text(), self.source.text())

    def _on_buttons_rejected(self) -> None:
        if not self._busy:  # the copy is being made: wait for it (seconds), then close or retry
            self.reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._busy and event.key() == Qt.Key.Key_Escape:
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._busy:
            event.ignore()
            return
        super().closeEvent(event)
