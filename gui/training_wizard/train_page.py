"""Wizard page 4: the training run, live: losses, previews, progress, Pause/Resume and Stop.

Training starts when the page is entered, in a fresh run folder under ``<REVIVE_HOME>/runs/``, on its
own thread (``gui.training_wizard.training_run``). Stopping sets the cancel token at once: the trainer saves a
resumable state at the next step and reports a cancelled finish; the page is then complete, and the
model as it is can still be saved on the next page.

A stopped run is resumed, not restarted: by the Resume Training button, by coming back to this page
with the same options (Back, then Next), or from Manage Runs (``resume_from``). Changed options
start a new run; the stopped one stays on disk (Manage Runs lists and deletes runs).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWizardPage,
)

from engine.errors import ReviveError
from engine.paths import runs_dir
from gui.training_wizard.loss_curve import LossCurve
from gui.training_wizard.preview_grid import PreviewGrid
from gui.training_wizard.score_curve import ScoreCurve
from gui.training_wizard.texts import ERROR_COLOUR, format_eta, suggest_model_name, unique_run_dir
from gui.training_wizard.training_run import TrainingRun
from gui.training_wizard.training_worker import Train
from gui.workers.device_lane import TRAINING, DeviceLane, LaneState, waiting_text
from training.cyclegan.config import STATE_FILE, CycleGANConfig, load_run_config
from training.cyclegan.events import HoldoutScored, PreviewReady
from training.cyclegan.trainer import train_cyclegan
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted


class TrainPage(QWizardPage):
    run_stopped = Signal()  # the training thread has finished (any outcome)
    running_changed = Signal(bool)

    def __init__(
        self,
        config: Callable[[], CycleGANConfig | None],
        train: Train = train_cyclegan,
        parent=None,
        lane: DeviceLane | None = None,
    ) -> None:
        """``config()`` gives the options page's config; ``train`` is the trainer (a fake in some tests);
        ``lane``: the app's device lane, which a run waits for before it trains (None: it does not)."""
        super().__init__(parent)
        self._lane = lane
        if lane is not None:
            lane.changed.connect(self._on_lane_changed)
        self.setTitle("Training")
        self.setSubTitle("Watch the held-out photos change. You can pause, or stop and keep the model as it is.")
        self._config_source, self._train = config, train
        self.status = QLabel("Preparing…")
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        self.saved = QLabel()
        self.saved.setObjectName("Hint")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop training")
        self.stop_button.setToolTip("Stop now; the run is saved and the model as it is can still be kept")
        self.resume_button = QPushButton("Resume training")
        self.resume_button.setToolTip("Continue the stopped run where it stopped")
        self.resume_button.hide()
        self.curve = LossCurve()
        self.score_curve = ScoreCurve()
        self.previews = PreviewGrid("Now")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.previews)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        curve_box, preview_box = QGroupBox("Losses (log scale)"), QGroupBox("Held-out photos")
        score_box = QGroupBox("CIEDE2000 on your colour photos kept aside (lower is better)")
        QVBoxLayout(curve_box).addWidget(self.curve)
        QVBoxLayout(score_box).addWidget(self.score_curve)
        QVBoxLayout(preview_box).addWidget(scroll)
        plots = QVBoxLayout()
        plots.addWidget(curve_box, 3)
        plots.addWidget(score_box, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.resume_button)
        panels = QHBoxLayout()
        panels.addLayout(plots, 1)
        panels.addWidget(preview_box, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        layout.addWidget(self.saved)
        layout.addLayout(panels, 1)
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        self.stop_button.clicked.connect(self._on_stop_button_clicked)
        self.resume_button.clicked.connect(self._on_resume_button_clicked)

        self.run: TrainingRun | None = None
        self._active = False  # see is_running
        self.run_dir: Path | None = None
        self.config: CycleGANConfig | None = None  # the run's config (its folder and resume flag set)
        self._resume_dir: Path | None = None  # a run to continue when the page is entered next
        self.base_preview: PreviewReady | None = None
        self.last_preview: PreviewReady | None = None
        self.previews_by_step: dict[int, PreviewReady] = {}
        self.last_scores: HoldoutScored | None = None  # the newest base-vs-fine-tune scores
        self.finished: TrainingFinished | None = None
        self.error = ""
        self._step = 0
        self._stopping = False
        self._set_buttons(False)

    # -- public --------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """From the start of a run until the page has handled its end (``run_stopped``): the
        thread itself ends a moment before that, and a page that said "not running" then would
        show itself complete (or resumable) before its buttons and status had caught up."""
        return self._active

    def stop(self) -> None:
        """Set the cancel token (effective at the next step); ``run_stopped`` follows."""
        if self.is_running():
            self._stopping = True
            self.run.cancel()
            self.pause_button.setEnabled(False)
            self.stop_button.setEnabled(False)
            self.status.setText(f"Stopping at step {self._step} and saving the run…")

    def wait(self, msecs: int | None = None) -> bool:
        """Block until the training thread has finished, or ``msecs`` passed (used when the app quits);
        True when it has."""
        return self.run.wait(msecs) if self.run is not None else True

    def step(self) -> int:
        return self._step

    def isComplete(self) -> bool:
        return self.finished is not None and not self.is_running()

    def initializePage(self) -> None:
        if self._resume_dir is not None:
            run_dir, self._resume_dir = self._resume_dir, None
            self._start(resume=run_dir)
        elif self.can_resume() and _same_options(self._config_source(), self.config):
            self._start(resume=self.run_dir)  # Back and Next again: carry on, do not start over
        else:
            self._start()

    def resume_from(self, run_dir: Path) -> None:
        """Continue the run in ``run_dir`` (with its own options) the next time the page is entered."""
        self._resume_dir = Path(run_dir)

    def can_resume(self) -> bool:
        """True when the last run here was stopped before its end and its state is saved."""
        return (
            self.finished is not None
            and self.finished.cancelled
            and not self.is_running()
            and self.run_dir is not None
            and (self.run_dir / STATE_FILE).is_file()
        )

    # -- running -----------------------------------------------------------------------------------------
    def _start(self, resume: Path | None = None) -> None:
        if resume is not None:
            try:
                config = dataclasses.replace(load_run_config(resume), run_dir=resume, resume=True, name=None)
            except (ReviveError, ValueError) as error:
                self._fail(str(error))
                return
            self.run_dir = resume
        else:
            config = self._config_source()
            if config is None:
                self._fail("the options are not valid: go back and check them")
                return
            stem = suggest_model_name(config.base or "model", config.old)
            self.run_dir = unique_run_dir(runs_dir(), stem)
            config = dataclasses.replace(config, run_dir=self.run_dir, resume=False)
        self.config = config
        self.resume_button.hide()
        self.base_preview = self.last_preview = self.finished = self.last_scores = None
        self.previews_by_step = {}
        self.error, self._step, self._stopping = "", 0, False
        self.curve.clear(config.steps)
        self.score_curve.clear()
        self.saved.setText("")
        self.progress.setRange(0, config.steps)
        self.progress.setValue(0)
        self.status.setText(
            "Loading the saved run and the photos…" if resume is not None else "Loading the photos and the base model…"
        )
        self.run = TrainingRun(config, self, self._train, self._lane)
        worker = self.run.worker
        worker.run_started.connect(self._on_worker_run_started)
        worker.steps_done.connect(self._on_worker_steps_done)
        worker.preview_made.connect(self._on_worker_preview_made)
        worker.scores_made.connect(self._on_worker_scores_made)
        worker.checkpoint_saved.connect(self._on_worker_checkpoint_saved)
        worker.run_finished.connect(self._on_worker_run_finished)
        worker.run_failed.connect(self._on_worker_run_failed)
        self.run.stopped.connect(self._on_run_stopped)
        self._active = True
        self.run.start()
        self._set_buttons(True)
        self.running_changed.emit(True)
        self.completeChanged.emit()

    def _set_buttons(self, running: bool) -> None:
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")

    def _fail(self, message: str) -> None:
        self.error = message[:1].upper() + message[1:]
        self.status.setText(
            f'<span style="color:{ERROR_COLOUR}"><b>Training failed:</b> {html.escape(self.error)}</span>'
        )

    def _on_pause_button_clicked(self) -> None:
        if self.run is None:
            return
        if self.run.is_paused():
            self.run.resume()
            self.pause_button.setText("Pause")
            self.status.setText(f"Step {self._step}: resuming…")
        else:
            self.run.pause()
            self.pause_button.setText("Resume")
            self.status.setText(f"Paused at step {self._step} (after the step in progress).")

    def _on_stop_button_clicked(self) -> None:
        self.stop()

    def _on_resume_button_clicked(self) -> None:
        if self.can_resume():
            self._start(resume=self.run_dir)

    def _on_lane_changed(self, state: LaneState) -> None:
        if state.waits(TRAINING) and self.is_running() and not self._stopping and self._step == 0:
            self.status.setText(f"{html.escape(waiting_text(state))}: training starts when it is done…")

    # -- worker reports ------------------------------------------------------------------------------------
    def _on_worker_run_started(self, event: TrainingStarted) -> None:
        self._step = event.start_step
        self.progress.setRange(0, event.total_steps)
        self.progress.setValue(event.start_step)
        self.status.setText(f"Training on {html.escape(event.device)} with {event.train_images} photos…")

    def _on_worker_steps_done(self, batch: tuple[StepDone, ...]) -> None:
        self.curve.add_steps((e.step, e.losses) for e in batch)
        last = batch[-1]
        self._step = last.step
        self.progress.setValue(last.step)
        if self._stopping or (self.run is not None and self.run.is_paused()):
            return
        self.status.setText(
            f"Step {last.step} of {last.total_steps} · {last.seconds_per_step:.2f} s per step · "
            f"{format_eta(last.eta_seconds)} left"
        )

    def _on_worker_preview_made(self, event: PreviewReady) -> None:
        if event.base or self.base_preview is None:
            self.base_preview = event
            self.previews.set_base(event.images)
        self.last_preview = event
        self.previews_by_step[event.step] = event
        self.previews.set_current(event.images, f"Step {event.step}")

    def _on_worker_scores_made(self, event: HoldoutScored) -> None:
        self.last_scores = event
        self.score_curve.add_scores(event)

    def _on_worker_checkpoint_saved(self, event: CheckpointSaved) -> None:
        self.saved.setText(f"Saved at step {event.step} in {event.path.parent}")

    def _on_worker_run_finished(self, event: TrainingFinished) -> None:
        self.finished = event
        self._step = event.step
        if event.cancelled:
            self.status.setText(
                f"Stopped at step {event.step} of {self.progress.maximum()}. The run is saved in "
                f"{html.escape(str(self.run_dir))}: resume it, or keep the model as it is."
            )
        else:
            self.progress.setValue(event.step)
            scores = self.last_scores
            if scores is not None and scores.best_step is not None:
                verdict = f"the fine-tune beats the base model (best at step {scores.best_step})"
            elif scores is not None:
                verdict = "<b>the fine-tune is worse than the base model</b>"
            else:
                verdict = "the fine-tune was not measured"
            self.status.setText(f"<b>Finished</b>: {event.step} steps; {verdict}. Next, compare them.")

    def _on_worker_run_failed(self, message: str) -> None:
        self._fail(message)

    def _on_run_stopped(self) -> None:
        self._active = False
        self._set_buttons(False)
        self.pause_button.setEnabled(False)
        self.stop_button.setEnabled(False)
        self.resume_button.setVisible(self.can_resume())
        self.running_changed.emit(False)
        self.completeChanged.emit()
        self.run_stopped.emit()


def _same_options(new: CycleGANConfig | None, old: CycleGANConfig | None) -> bool:
    """True when ``new`` (from the options page) trains what ``old`` (a run's config) trains."""
    if new is None or old is None:
        return False
    mechanics = {"run_dir": None, "resume": False, "name": None}
    return dataclasses.replace(new, **mechanics) == dataclasses.replace(old, **mechanics)
