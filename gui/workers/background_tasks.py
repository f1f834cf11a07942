"""Short jobs off the GUI thread (thumbnails, folder scans, previews, exports) on a small QThreadPool.

A task is a plain function and its arguments; its result (immutable data) comes back on the GUI
thread to the callback given with it. Errors are reported, never swallowed: every failure is logged
(a ReviveError's message as a warning, anything else with its traceback) and its message goes to the
task's ``on_failed``, or, for a task submitted without one, to ``task_failed`` (the controller shows it
in the status bar).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from engine.errors import ReviveError, describe_error
from gui.workers.quitting import QUIT_WAIT_MS, wait_or_abandon

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Carries a finished task's callback and result back to the GUI thread (queued signal)."""

    finished = Signal(object, object)  # callback (None: a failure nobody asked for), result


def _name(function: Callable) -> str:
    return getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or repr(function)


class _Task(QRunnable):
    def __init__(self, relay: _Relay, function: Callable, args: tuple, on_done: Callable, on_failed: Callable | None):
        super().__init__()
        self._relay, self._function, self._args = relay, function, args
        self._on_done, self._on_failed = on_done, on_failed

    def run(self) -> None:
        try:
            result = self._function(*self._args)
        except ReviveError as error:
            log.warning("background task %s failed: %s", _name(self._function), error)
            self._fail(str(error))
        except Exception as error:
            log.exception("background task %s failed", _name(self._function))
            self._fail(describe_error(error))
        else:
            self._relay.finished.emit(self._on_done, result)

    def _fail(self, message: str) -> None:
        self._relay.finished.emit(self._on_failed, message)  # None: ``task_failed`` reports it


class BackgroundTasks(QObject):
    task_failed = Signal(str)  # why, for people: a task submitted without on_failed failed

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_relay_finished)
        self._closed = False

    def submit(self, function: Callable, *args: Any, on_done: Callable, on_failed: Callable | None = None) -> None:
        """Run ``function(*args)``; then ``on_done(result)`` or ``on_failed(message)`` on the GUI thread."""
        if self._closed:
            return
        self._pool.start(_Task(self._relay, function, args, on_done, on_failed))

    def active(self) -> int:
        return self._pool.activeThreadCount()

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def shutdown(self, msecs: int = QUIT_WAIT_MS) -> bool:
        """Drop queued tasks, wait up to ``msecs`` for running ones (then give up on them, see
        ``gui.workers.quitting``); later results are ignored. True when all had finished."""
        if self._closed:
            return True
        self._closed = True
        self._pool.clear()
        return wait_or_abandon(self._pool, msecs, "a background task")

    @Slot(object, object)
    def _on_relay_finished(self, callback: Callable | None, result: object) -> None:
        if self._closed:
            return
        if callback is None:
            self.task_failed.emit(str(result))
            return
        callback(result)  # a callback that raises reaches the app's excepthook (logged, shown)
