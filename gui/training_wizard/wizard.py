"""The "Train a Model" wizard: fine-tune an installed colorizer on the user's own old and colour photos.

Pages: base model -> folders (checked in the background) -> preset and options (with a measured time
estimate) -> training (live curves and previews, pause, stop) -> name and install. The wizard is
non-modal: the main window stays usable while it trains.

Closing it mid-run (Cancel, Esc, the window's close button) asks first, then sets the run's cancel
token and closes once the training thread has finished: the trainer saves a resumable state on the
way out, and no thread is left behind. If the main window closes or the app quits meanwhile, the run
is stopped and waited for before anything is destroyed.

Entry point: ``open_training_wizard(parent, controller)``; the main window calls it from its menu.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget, QWizard

from engine.paths import runs_dir, settings_path
from gui.training_wizard.base_page import BaseModelPage
from gui.training_wizard.finish_page import FinishPage, TrainingOutcome
from gui.training_wizard.folders_page import FoldersPage
from gui.training_wizard.options_page import OptionsPage
from gui.training_wizard.runs_dialog import RunsDialog
from gui.training_wizard.train_page import TrainPage
from gui.training_wizard.training_worker import Train
from gui.workers.background_tasks import BackgroundTasks
from gui.workers.device_lane import DeviceLane
from gui.workers.quitting import TRAINING_QUIT_WAIT_MS, wait_or_abandon
from training.cyclegan.config import CycleGANConfig
from training.cyclegan.trainer import train_cyclegan

log = logging.getLogger(__name__)

STOP_QUESTION = "Stop training? The run is saved and can be resumed."


class ModelController(Protocol):
    """What the wizard needs from the app's controller (``gui.controller.Controller`` has it)."""

    def tuning(self): ...  # .model: the name of the model in use

    def refresh_models(self) -> None: ...

    def choose_model(self, name: str) -> None: ...


class TrainingWizard(QWizard):
    BASE_PAGE, FOLDERS_PAGE, OPTIONS_PAGE, TRAIN_PAGE, FINISH_PAGE = range(5)

    def __init__(
        self, controller: ModelController, parent: QWidget | None = None, train: Train = train_cyclegan
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a Model")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        self.resize(860, 640)
        self.controller = controller
        self.tasks = BackgroundTasks(self, max_threads=2)
        # The app's device lane (colorizing, training and the estimate take turns); a controller
        # without one (a test's stand-in) gets one for this wizard alone.
        self.lane: DeviceLane = getattr(controller, "lane", None) or DeviceLane(self)
        self.settings = QSettings(str(settings_path()), QSettings.Format.IniFormat)
        self.installed: str | None = None
        self._closing = False

        current = getattr(controller.tuning(), "model", "") or ""
        self.base_page = BaseModelPage(current)
        self.folders_page = FoldersPage(self.tasks, self.settings)
        self.options_page = OptionsPage(self.tasks, self.settings, self._choices, lane=self.lane)
        self.train_page = TrainPage(self._config, train, lane=self.lane)
        self.finish_page = FinishPage(self._outcome, self._on_finish_page_installed, self.tasks)
        for page_id, page in enumerate(
            (self.base_page, self.folders_page, self.options_page, self.train_page, self.finish_page)
        ):
            self.setPage(page_id, page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Install")
        self.train_page.running_changed.connect(self._on_train_page_running_changed)
        self.base_page.manage_runs_requested.connect(self.manage_runs)
        self.train_page.run_stopped.connect(self._on_train_page_run_stopped)
        if parent is not None:
            parent.installEventFilter(self)  # stop training before the main window goes
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- what the pages share ------------------------------------------------------------------------------
    def _choices(self) -> tuple[str, Path | None, Path | None]:
        old, color = self.folders_page.folders()
        return self.base_page.chosen_model(), old, color

    def _config(self) -> CycleGANConfig | None:
        return self.options_page.config()

    def _outcome(self) -> TrainingOutcome:
        page = self.train_page
        run_dir = page.run_dir if page.finished is not None and not page.error else None
        config = page.config  # the run's own (a resumed run may come from another session)
        base = (config.base if config is not None and config.base else None) or self.base_page.chosen_model()
        old = config.old if config is not None else self.folders_page.folders()[0]
        scores = page.last_scores
        # Show the previews of the step Install adds: the best one when a step beats the base.
        best = scores.best_step if scores is not None else None
        preview = page.previews_by_step.get(best, page.last_preview) if best is not None else page.last_preview
        return TrainingOutcome(run_dir, base, old, page.base_preview, preview, scores)

    # -- earlier runs ---------------------------------------------------------------------------------------
    def manage_runs(self) -> RunsDialog:
        """The list of training runs on disk, to resume or delete (non-modal)."""
        dialog = RunsDialog(runs_dir(), self.resume_run, self, training_now=self._run_training_now)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _run_training_now(self) -> Path | None:
        return self.train_page.run_dir if self.train_page.is_running() else None

    def resume_run(self, run_dir: Path) -> None:
        """Continue a stopped run with its own options: straight to the training page."""
        if self.train_page.is_running():
            return
        self.train_page.resume_from(run_dir)
        self.setStartId(self.TRAIN_PAGE)
        self.restart()
        self.setStartId(self.BASE_PAGE)

    def _on_finish_page_installed(self, name: str, make_active: bool) -> None:
        self.installed = name
        if make_active:
            self.controller.choose_model(name, reload=True)  # first, so the refreshed list shows it as current
        self.controller.refresh_models()

    # -- running and closing ----------------------------------------------------------------------------------
    def _on_train_page_running_changed(self, running: bool) -> None:
        # No going back while a run is on: its options are fixed and its thread busy.
        layout = [
            QWizard.WizardButton.Stretch,
            QWizard.WizardButton.NextButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ]
        if not running:
            layout.insert(1, QWizard.WizardButton.BackButton)
        self.setButtonLayout(layout)

    def confirm_stop(self) -> bool:
        """Ask before stopping a run (a separate method so tests can answer it)."""
        answer = QMessageBox.question(
            self,
            "Stop training",
            STOP_QUESTION,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def reject(self) -> None:
        """Cancel, Esc and the close button (QDialog.closeEvent calls this): mid-run, ask, stop, and close when the thread has finished."""
        if self.train_page.is_running():
            if not self._closing and self.confirm_stop():
                self._closing = True
                self.button(QWizard.WizardButton.CancelButton).setEnabled(False)
                self.train_page.stop()
            return
        super().reject()

    def _on_train_page_run_stopped(self) -> None:
        if self._closing:
            self._closing = False
            super().reject()

    def done(self, result: int) -> None:
        super().done(result)  # QWizard.done validates the page first: Finish may keep the wizard open
        if not self.isVisible():
            self.shutdown()

    def shutdown(self) -> None:
        """Stop any run and wait for it (a bounded time: ``gui.workers.quitting``), and for the
        background checks; idempotent, blocks."""
        self.options_page.cancel_estimates()
        self.folders_page.cancel_check()
        if self.train_page.is_running():
            self.train_page.stop()
            wait_or_abandon(self.train_page.run.thread, TRAINING_QUIT_WAIT_MS, "the training run")
        self.tasks.shutdown()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Close:
            self.shutdown()
            self.hide()
        return super().eventFilter(watched, event)


def open_training_wizard(parent: QWidget | None, controller: ModelController) -> TrainingWizard:
    """Show the training wizard (non-modal; the one already open if there is one) and return it."""
    if parent is not None:
        for wizard in parent.findChildren(TrainingWizard):
            if wizard.isVisible():
                wizard.raise_()
                wizard.activateWindow()
                return wizard
    wizard = TrainingWizard(controller, parent)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.show()
    return wizard
