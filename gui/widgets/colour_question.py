"""The question asked when photos already in colour are added: keep, restore or re-colorize them.

Non-modal (the app and the tests go on while it is open); the answer goes to ``on_answer(paths,
choice)`` and is remembered per photo by the controller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from gui.models.photo_session import ColourChoice

LABELS = {
    ColourChoice.KEEP: ("Keep Its Colours", "Leave the photo as it is"),
    ColourChoice.RESTORE: (
        "Restore Its Colours",
        "Colorize it from its gray tones, keeping close to its own colours: for faded or discoloured colour prints",
    ),
    ColourChoice.RECOLOR: (
        "Re-colorize",
        "Colorize it from its gray tones as if it were black and white: its present colours are not used",
    ),
}


def question_text(paths: Sequence[Path]) -> str:
    if len(paths) == 1:
        return f"{paths[0].name} is already a colour photo. What should Revive do with it?"
    return f"{len(paths)} of the photos you added are already in colour. What should Revive do with them?"


def ask_colour_choice(
    parent: QWidget, paths: Sequence[Path], on_answer: Callable[[Sequence[Path], ColourChoice], None]
) -> QMessageBox:
    """Show the question (non-modal) and return the box; closing it without an answer leaves the
    photos waiting (Redo asks again)."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Photos already in colour",
        question_text(paths),
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setInformativeText("Revive colorizes from a photo's gray tones, so re-colouring replaces its real colours.")
    buttons: dict[QPushButton, ColourChoice] = {}
    for choice, (label, tip) in LABELS.items():
        button = box.addButton(label, QMessageBox.ButtonRole.AcceptRole)
        button.setToolTip(tip)
        buttons[button] = choice
    box.setDefaultButton(next(b for b, c in buttons.items() if c == ColourChoice.KEEP))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.NonModal)
    shown = list(paths)

    def on_clicked(button) -> None:
        choice = buttons.get(button)
        if choice is not None:
            on_answer(shown, choice)

    box.buttonClicked.connect(on_clicked)
    box.show()
    return box
