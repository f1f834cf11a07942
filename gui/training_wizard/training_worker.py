"""The thin adapter between ``train_cyclegan`` and the wizard: it lives on the training QThread and
turns the trainer's events into signals carrying the same frozen events (plain data).

Step events are gathered and sent as a batch about ten times a second, so the curve still gets every
step while the GUI thread is not flooded. Pausing is a ``threading.Event`` the worker waits on between
events (the trainer's generator simply is not pulled); cancelling is the trainer's ``CancelToken``,
set from the GUI thread, which also opens the gate so a paused run can stop.

The run takes the app's device lane (``gui.workers.device_lane``) first: while colorizing holds the
device, training waits (Stop ends the wait at once) and holds it until the run has returned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, Signal, Slot

from engine.cancel import CancelToken
from engine.errors import Cancelled, ReviveError, describe_error
from gui.workers.device_lane import TRAINING, DeviceLane
from training.cyclegan.config import CycleGANConfig
from training.cyclegan.events import HoldoutScored, PreviewReady
from training.cyclegan.trainer import train_cyclegan
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted

log = logging.getLogger(__name__)

STEP_INTERVAL_S = 0.1  # step batches reach the GUI at most this often
NOT_STARTED = "stopped before it started (it was waiting for the device)"
STOPPED_LOADING = "stopped while loading the photos, before the first step: nothing was trained"

Train = Callable[[CycleGANConfig, CancelToken], Iterator[object]]


class TrainingWorker(QObject):
    run_started = Signal(object)  # TrainingStarted
    steps_done = Signal(object)  # tuple[StepDone, ...] since the last batch
    preview_made = Signal(object)  # PreviewReady
    scores_made = Signal(object)  # HoldoutScored
    checkpoint_saved = Signal(object)  # CheckpointSaved
    run_finished = Signal(object)  # TrainingFinished
    run_failed = Signal(str)  # a message for people
    stopped = Signal()  # always the last signal

    def __init__(
        self,
        config: CycleGANConfig,
        cancel: CancelToken,
        gate: threading.Event,
        train: Train = train_cyclegan,
        lane: DeviceLane | None = None,
    ) -> None:
        super().__init__()
        self._config, self._cancel, self._gate, self._train = config, cancel, gate, train
        self._lane = lane
        self._pending: list[StepDone] = []
        self._last_batch = 0.0
        self.held = threading.Event()  # set while the worker waits at the closed gate (paused)

    @Slot()
    def run(self) -> None:
        granted = False
        try:
            if self._lane is not None:
                granted = self._lane.acquire(TRAINING, give_up=lambda: self._cancel.cancelled)
                if not granted:
                    self.run_failed.emit(NOT_STARTED)
                    return
            for event in self._train(self._config, self._cancel):
                self._deliver(event)
                if not self._gate.is_set():
                    self._flush()
                    self.held.set()
                    self._gate.wait()
                    self.held.clear()
            self._flush()
        except Cancelled:  # the loaders saw the token: stopped before the first step
            self._flush()
            self.run_failed.emit(STOPPED_LOADING)
        except (ReviveError, ValueError) as error:
            self._flush()
            self.run_failed.emit(str(error))
        except Exception as error:
            log.exception("training failed")
            self._flush()
            self.run_failed.emit(describe_error(error))
        finally:
            if granted:
                self._lane.release()
            self.stopped.emit()

    def _deliver(self, event: object) -> None:
        if isinstance(event, StepDone):
            self._pending.append(event)
            if time.monotonic() - self._last_batch >= STEP_INTERVAL_S or event.step >= event.total_steps:
                self._flush()
            return
        self._flush()  # keep the order: steps before the preview or the end that follows them
        if isinstance(event, TrainingStarted):
            self.run_started.emit(event)
        elif isinstance(event, PreviewReady):
            self.preview_made.emit(event)
        elif isinstance(event, HoldoutScored):
            self.scores_made.emit(event)
        elif isinstance(event, CheckpointSaved):
            self.checkpoint_saved.emit(event)
        elif isinstance(event, TrainingFinished):
            self.run_finished.emit(event)

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = tuple(self._pending), []
            self._last_batch = time.monotonic()
            self.steps_done.emit(batch)
