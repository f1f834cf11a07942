"""Wizard page 2: the old-photo folder and the colour folder, checked off the GUI thread.

The check (``training.data.dataset_check.check_dataset``, seconds for big folders) runs on the wizard's
background pool each time both folders are set (debounced while typing); a newer check supersedes an
older one, whose result is dropped (and whose reading stops: its cancel token is set). Errors block
Next; warnings are for the user to judge.
"""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QFormLayout, QLabel, QProgressBar, QVBoxLayout, QWizardPage

from engine.cancel import CancelToken
from gui.training_wizard.folder_field import FolderField
from gui.training_wizard.texts import ERROR_COLOUR, findings_html
from gui.workers.background_tasks import BackgroundTasks
from training.data.dataset_check import DatasetReport, check_dataset

OLD_KEY = "gui/training/old_folder"
COLOR_KEY = "gui/training/color_folder"
CHECK_DELAY_MS = 300  # wait for typing to pause before checking


class FoldersPage(QWizardPage):
    def __init__(self, tasks: BackgroundTasks, settings: QSettings, parent=None) -> None:
        super().__init__(parent)
        self.setTitle("Your photos")
        self.setSubTitle(
            "Pick a folder of old photos (gray, sepia, faded) to learn from, and a folder of colour "
            "photos of similar subjects showing the colours you want. They need not be pairs."
        )
        self._tasks, self._settings = tasks, settings
        self.old_field = FolderField("Folder of old photos", "Old photos: gray, sepia or faded")
        self.color_field = FolderField("Folder of colour photos", "Colour photos of similar scenes")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # an indeterminate spinner
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy.hide()
        self.findings = QLabel()
        self.findings.setWordWrap(True)
        self.findings.setTextFormat(Qt.TextFormat.RichText)
        self.findings.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.findings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Old photos:", self.old_field)
        form.addRow("Colour photos:", self.color_field)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.busy)
        layout.addWidget(self.findings, 1)

        self._report: DatasetReport | None = None
        self._generation = 0
        self._checking = False
        self._check_cancel = CancelToken()  # the check in flight's
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.old_field.folder_edited.connect(self._on_old_field_folder_edited)
        self.color_field.folder_edited.connect(self._on_color_field_folder_edited)
        self.old_field.set_folder(_stored(settings, OLD_KEY))
        self.color_field.set_folder(_stored(settings, COLOR_KEY))

    # -- public --------------------------------------------------------------------------------------
    def folders(self) -> tuple[Path | None, Path | None]:
        return self.old_field.folder(), self.color_field.folder()

    def report(self) -> DatasetReport | None:
        """The check of the folders as they are now (None while checking or not both set)."""
        return self._report

    def is_checking(self) -> bool:
        return self._checking or self._timer.isActive()

    def isComplete(self) -> bool:
        return self._report is not None and self._report.ok and not self.is_checking()

    def validatePage(self) -> bool:
        old, color = self.folders()
        self._settings.setValue(OLD_KEY, str(old))
        self._settings.setValue(COLOR_KEY, str(color))
        return self.isComplete()

    def cancel_check(self) -> None:
        """Stop the check in flight (its folder reading stops at the next file); the wizard closes."""
        self._timer.stop()
        self._check_cancel.cancel()

    # -- checking ------------------------------------------------------------------------------------
    def _folders_changed(self) -> None:
        self._generation += 1  # anything in flight is now stale
        self._check_cancel.cancel()
        self._report = None
        self._checking = False
        old, color = self.folders()
        if old is None or color is None:
            self._timer.stop()
            self.busy.hide()
            missing = "old photos" if old is None else "colour photos"
            self.findings.setText(f"Choose the folder of {missing}." if (old or color) else "Choose both folders.")
        else:
            self.busy.show()
            self.findings.setText("Checking…")
            self._timer.start()
        self.completeChanged.emit()

    def _on_old_field_folder_edited(self, _text: str) -> None:
        self._folders_changed()

    def _on_color_field_folder_edited(self, _text: str) -> None:
        self._folders_changed()

    def _on_timer_timeout(self) -> None:
        old, color = self.folders()
        if old is None or color is None:
            return
        generation = self._generation
        self._checking = True
        self._check_cancel = CancelToken()
        self._tasks.submit(
            partial(check_dataset, cancel=self._check_cancel),
            old,
            color,
            on_done=lambda report: self._on_tasks_checked(generation, report),
            on_failed=lambda message: self._on_tasks_check_failed(generation, message),
        )

    def _on_tasks_checked(self, generation: int, report: DatasetReport) -> None:
        if generation != self._generation:
            return  # a newer check is on its way
        self._checking = False
        self._report = report
        self.busy.hide()
        self.findings.setText(findings_html(report))
        self.completeChanged.emit()

    def _on_tasks_check_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._checking = False
        self.busy.hide()
        self.findings.setText(
            f'<span style="color:{ERROR_COLOUR}">The folders could not be checked: {html.escape(message)}</span>'
        )
        self.completeChanged.emit()


def _stored(settings: QSettings, key: str) -> str:
    value = settings.value(key, "")
    return value if isinstance(value, str) else ""
