"""Tools > Add Model… and Tools > Manage Added Models… in the main window, wired to the controller.

Add Model: a file dialog (.pth .pt .ckpt .safetensors), then ``AddModelDialog`` for the name (the
file's stem by default, checked as it is typed) and the source; the controller adds it on the
background pool while the dialog shows a busy bar. A refused file (a pickle that would run code,
a state dict spandrel does not know) keeps the dialog open with the engine's one-line reason. An
added colorization model (DDColor) appears in the Adjust tab's picker as "NAME (added)"; every
added model is a row of the manage dialog, whose Remove deletes Revive's copy and card.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.external.card import MODEL_SUFFIXES
from gui.added_models.add_dialog import AddModelDialog
from gui.added_models.manage_dialog import AddedModelsDialog
from gui.models.added_models import COLORIZATION, app_name_problem
from gui.widgets.actions import make_action
from gui.widgets.dialogs import show_nonblocking

if TYPE_CHECKING:
    from gui.main_window import MainWindow
    from gui.workers.added_models import ModelAdded

MODEL_FILTER = f"Model files ({' '.join('*' + s for s in MODEL_SUFFIXES)})"


class AddedModelsMenu(QObject):
    """The two Tools actions, their dialogs, and what the controller says back."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.add_dialog: AddModelDialog | None = None
        self.manage_dialog: AddedModelsDialog | None = None
        self.add_action = make_action(
            window,
            "&Add Model…",
            self.ask_for_file,
            tip="Add a model from another project: DDColor colorizes; Real-ESRGAN, GFPGAN and others are kept too",
        )
        self.manage_action = make_action(
            window, "Manage A&dded Models…", self.show_manage_dialog, tip="List and remove the models you added"
        )
        self.actions = [self.add_action, self.manage_action]
        c = self.controller
        c.model_added.connect(self._on_controller_model_added)
        c.model_add_failed.connect(self._on_controller_model_add_failed)
        c.added_models_changed.connect(self._on_controller_added_models_changed)

    # -- adding ------------------------------------------------------------------------------------------
    def ask_for_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self.window, "Add a model from another project", str(Path.home()), MODEL_FILTER
        )
        if name:
            self.open_add_dialog(Path(name))

    def open_add_dialog(self, path: Path) -> AddModelDialog:
        """Ask for the name and source of ``path`` (a window-modal dialog that does not block)."""
        if self.add_dialog is not None and self.add_dialog.is_busy():
            self.window.show_message(f"Still adding {self.add_dialog.path.name}…")
            return self.add_dialog
        dialog = self.add_dialog = AddModelDialog(path, app_name_problem, self.window)
        dialog.add_requested.connect(self._on_add_dialog_add_requested)
        dialog.finished.connect(lambda _result: self._forget_add_dialog(dialog))
        dialog.open()
        return dialog

    def _forget_add_dialog(self, dialog: AddModelDialog) -> None:
        if self.add_dialog is dialog:
            self.add_dialog = None
        dialog.deleteLater()

    def _on_add_dialog_add_requested(self, path: Path, name: str, source: str) -> None:
        self.window.show_message(f"Adding {name} from {Path(path).name}…", 0)
        self.controller.add_model_file(path, name, source)

    def _on_controller_model_added(self, added: ModelAdded) -> None:
        if self.add_dialog is not None:
            self.add_dialog.finish()
        where = (
            "choose it in the Adjust tab's model list"
            if added.task == COLORIZATION
            else "it is listed in Tools > Manage Added Models…"
        )
        self.window.show_message(f"{added.line}; {where}", 15000)

    def _on_controller_model_add_failed(self, message: str) -> None:
        self.window.show_message(f"Model not added: {message}", 15000)
        if self.add_dialog is not None:
            self.add_dialog.show_failure(message)
        else:
            show_nonblocking(self.window, QMessageBox.Icon.Warning, "Model not added", message)

    # -- managing ----------------------------------------------------------------------------------------
    def show_manage_dialog(self) -> AddedModelsDialog:
        if self.manage_dialog is None:
            self.manage_dialog = AddedModelsDialog(self.window)
            self.manage_dialog.remove_requested.connect(self._on_manage_dialog_remove_requested)
        self.manage_dialog.set_rows(self.controller.added_models())
        self.manage_dialog.set_note("")
        self.manage_dialog.show()
        self.manage_dialog.raise_()
        return self.manage_dialog

    def confirm_removal(self, name: str) -> bool:
        """Ask before deleting Revive's copy of ``name`` (tests answer for the user)."""
        answer = QMessageBox.question(
            self.manage_dialog or self.window,
            "Remove model",
            f"Remove {name}? Revive deletes its copy and card; the file you added it from stays where it is.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_manage_dialog_remove_requested(self, name: str) -> None:
        if not self.confirm_removal(name):
            return
        problem = self.controller.remove_added_model(name)
        if self.manage_dialog is not None:
            self.manage_dialog.set_note(f"Not removed: {problem}" if problem else f"Removed {name}.")

    def _on_controller_added_models_changed(self) -> None:
        if self.manage_dialog is not None and self.manage_dialog.isVisible():
            self.manage_dialog.set_rows(self.controller.added_models())
