"""The thin adapter between ``train_cyclegan`` and the wizard: it lives on the training QThread and
turns the trainer's events into signals carrying the same frozen events (plain data).

Step events are gathered and sent as a batch about ten times a second, so the curve still gets every
step while the GUI thread is not flooded. Pausing is a ``threading.Event`` the worker waits on between
events (the trainer's generator simply is not pulled); cancelling is the trainer's ``CancelToken``,
set from the GUI thread, which also opens the gate so a paused run can stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, Signal, Slot

from engine.cancel import CancelToken
from engine.errors import ReviveError, describe_error
from training.cyclegan.config import CycleGANConfig
from training.cyclegan.events import HoldoutScored, PreviewReady
from training.cyclegan.trainer import train_cyclegan
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted

log = logging.getLogger(__name__)

STEP_INTERVAL_S = 0.1  # step batches reach the GUI at most this often

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
        self, config: CycleGANConfig, cancel: CancelToken, gate: threading.Event, train: Train = train_cyclegan
    ) -> None:
        super().__init__()
        self._config, self._cancel, self._gate, self._train = config, cancel, gate, train
        self._pending: list[StepDone] = []
        self._last_batch = 0.0
        self.held = threading.Event()  # set while the worker waits at the closed gate (paused)

    @Slot()
    def run(self) -> None:
        try:
            for event in self._train(self._config, self._cancel):
                self._deliver(event)
                if not self._gate.is_set():
                    self._flush()
                    self.held.set()
                    self._gate.wait()
                    self.held.clear()
            self._flush()
        except (ReviveError, ValueError) as error:
            self._flush()
            self.run_failed.emit(str(error))
        except Exception as error:
            log.exception("training failed")
            self._flush()
            self.run_failed.emit(describe_error(error))
        finally:
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
