"""Small dialogs that never block the app, and the optional training wizard's entry point."""

from __future__ import annotations

import importlib
import importlib.util
import logging

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)

TRAINING_WIZARD_MODULE = "gui.training_wizard.wizard"
_unparented: list[QMessageBox] = []  # keeps a dialog without a parent alive while it is open


def show_nonblocking(
    parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str, details: str = ""
) -> QMessageBox:
    """A message box that does not stop the app (nor the test driving it) while it is open."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.NonModal)
    if parent is None:
        _unparented.append(box)
        box.finished.connect(lambda _result: _unparented.remove(box))
    box.show()
    return box


def training_available() -> bool:
    """True when the training wizard module is part of this build."""
    return importlib.util.find_spec(TRAINING_WIZARD_MODULE) is not None


def open_training(parent: QWidget, controller: QObject) -> None:
    """Open the training wizard (``gui.training_wizard.wizard.open_training_wizard(parent, controller)``)."""
    try:
        module = importlib.import_module(TRAINING_WIZARD_MODULE)
    except ImportError as error:
        log.warning("the training wizard is not available: %s", error)
        show_nonblocking(parent, QMessageBox.Icon.Information, "Training", "Training is not available in this build.")
        return
    module.open_training_wizard(parent, controller)
