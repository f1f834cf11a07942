"""Wizard page 5: name the new model, compare it with the base model, install it (and make it active).

Finishing exports the run's G as a user model (``training.cyclegan_export.export_cyclegan``: a fraction
of a second, so it runs here with a wait cursor) and hands the name to ``on_installed``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWizardPage

from engine.errors import ReviveError
from engine.model_registry import list_models, user_model_path
from gui.wizard_preview_grid import PreviewGrid
from gui.wizard_texts import ERROR_COLOUR, WARNING_COLOUR, suggest_model_name
from training.cyclegan_events import PreviewReady
from training.cyclegan_export import export_cyclegan


class FinishPage(QWizardPage):
    def __init__(self, outcome: Callable[[], tuple[Path | None, str, Path | None, PreviewReady | None, PreviewReady | None]],
                 on_installed: Callable[[str, bool], None], parent=None) -> None:
        """``outcome()`` gives (run folder, base model, old folder, base preview, last preview);
        ``on_installed(name, make_active)`` is called after a successful export."""
        super().__init__(parent)
        self.setTitle("Your new model")
        self.setSubTitle("Give it a name and compare it with the model it started from. Install adds it to your models.")
        self._outcome, self._on_installed = outcome, on_installed
        self.name = QLineEdit()
        self.name_problem = QLabel()
        self.name_problem.setTextFormat(Qt.TextFormat.RichText)
        self.name_problem.setWordWrap(True)
        self.make_active = QCheckBox("Make it the active model")
        self.make_active.setChecked(True)
        self.previews = PreviewGrid("Fine-tuned")
        self.result = QLabel()
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Model name:", self.name)
        form.addRow("", self.name_problem)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.make_active)
        layout.addWidget(self.previews, 1)
        layout.addWidget(self.result)
        self.name.textChanged.connect(self._on_name_text_changed)
        self.installed_path: Path | None = None

    def initializePage(self) -> None:  # noqa: N802
        _, base, old, base_preview, last_preview = self._outcome()
        taken = {m.name for m in list_models()}
        self.name.setText(suggest_model_name(base or "model", old or Path("photos"), taken))
        if base_preview is not None:
            self.previews.set_base(base_preview.images)
        if last_preview is not None:
            self.previews.set_current(last_preview.images, f"Fine-tuned (step {last_preview.step})")
        self.result.setText("")

    def name_problem_text(self) -> str:
        """Why the name cannot be used ('' when it can); a replaced model is a warning, not a problem."""
        name = self.name.text().strip()
        if not name:
            return "Type a name for the model."
        try:
            user_model_path(name)
        except ValueError as error:
            message = str(error)
            return message[:1].upper() + message[1:] + "."
        return ""

    def isComplete(self) -> bool:  # noqa: N802
        return not self.name_problem_text() and self._outcome()[0] is not None

    def _on_name_text_changed(self, _text: str) -> None:
        problem = self.name_problem_text()
        name = self.name.text().strip()
        if problem:
            self.name_problem.setText(f'<span style="color:{ERROR_COLOUR}">{html.escape(problem)}</span>')
        elif any(m.name == name for m in list_models()):
            self.name_problem.setText(f'<span style="color:{WARNING_COLOUR}">A model called {html.escape(name)} '
                                      "is installed; Finish replaces it (a shipped one is only hidden).</span>")
        else:
            self.name_problem.setText("")
        self.completeChanged.emit()

    def validatePage(self) -> bool:  # noqa: N802
        run_dir = self._outcome()[0]
        name = self.name.text().strip()
        if run_dir is None or self.name_problem_text():
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.installed_path = export_cyclegan(run_dir, name)
        except (ReviveError, ValueError, OSError) as error:
            message = str(error)
            self.result.setText(f'<span style="color:{ERROR_COLOUR}"><b>Could not save the model:</b> '
                                f"{html.escape(message)}</span>")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._on_installed(name, self.make_active.isChecked())
        return True
