"""Short jobs off the GUI thread (thumbnails, folder scans, previews, exports) on a small QThreadPool.

A task is a plain function and its arguments; its result (immutable data) comes back on the GUI
thread to the callback given with it. Errors are reported, never swallowed: a ReviveError's message
as is, anything else logged with its traceback and reported by type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from engine.errors import ReviveError, describe_error

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Carries a finished task's callback and result back to the GUI thread (queued signal)."""

    finished = Signal(object, object)  # callback, result


class _Task(QRunnable):
    def __init__(self, relay: _Relay, function: Callable, args: tuple, on_done: Callable, on_failed: Callable | None):
        super().__init__()
        self._relay, self._function, self._args = relay, function, args
        self._on_done, self._on_failed = on_done, on_failed

    def run(self) -> None:
        try:
            result = self._function(*self._args)
        except ReviveError as error:
            self._fail(str(error))
        except Exception as error:
            log.exception("background task %s failed", getattr(self._function, "__name__", self._function))
            self._fail(describe_error(error))
        else:
            self._relay.finished.emit(self._on_done, result)

    def _fail(self, message: str) -> None:
        if self._on_failed is not None:
            self._relay.finished.emit(self._on_failed, message)


class BackgroundTasks(QObject):
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

    def shutdown(self) -> None:
        """Drop queued tasks, wait for running ones; later results are ignored."""
        self._closed = True
        self._pool.clear()
        self._pool.waitForDone()

    @Slot(object, object)
    def _on_relay_finished(self, callback: Callable, result: object) -> None:
        if not self._closed:
            callback(result)
