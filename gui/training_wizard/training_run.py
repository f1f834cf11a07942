"""One training run on its own QThread: start, pause and resume, cancel (a flag, effective at once).

Owned by the train page on the GUI thread. The worker's signals are exposed as ``run.worker``'s;
``stopped`` here comes once the thread has really finished (safe to delete, nothing left running).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QThread, Signal

from engine.cancel import CancelToken
from gui.training_wizard.training_worker import Train, TrainingWorker
from gui.workers.device_lane import DeviceLane
from training.cyclegan.config import CycleGANConfig
from training.cyclegan.trainer import train_cyclegan


class TrainingRun(QObject):
    stopped = Signal()  # the thread has finished

    def __init__(
        self,
        config: CycleGANConfig,
        parent: QObject | None = None,
        train: Train = train_cyclegan,
        lane: DeviceLane | None = None,
    ) -> None:
        """``lane``: the app's device lane; the run waits for it before training (None: it does not)."""
        super().__init__(parent)
        self.config = config
        self.cancel_token = CancelToken()
        self._gate = threading.Event()  # set = running; cleared = the worker waits between events
        self._gate.set()
        self.worker = TrainingWorker(config, self.cancel_token, self._gate, train, lane)
        self.thread = QThread()
        self.thread.setObjectName("revive-training")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        # Direct: quit the thread's event loop from the worker thread as soon as the run returns.
        self.worker.stopped.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.finished.connect(self.stopped)

    def start(self) -> None:
        self.thread.start()

    def pause(self) -> None:
        self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    def is_paused(self) -> bool:
        return not self._gate.is_set()

    def cancel(self) -> None:
        """Stop at the next step: the trainer saves a resumable state and reports ``cancelled``."""
        self.cancel_token.cancel()
        self._gate.set()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, msecs: int | None = None) -> bool:
        """Block until the thread has finished (or ``msecs`` passed); True when it has."""
        return self.thread.wait() if msecs is None else self.thread.wait(msecs)
