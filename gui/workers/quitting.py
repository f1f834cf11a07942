"""Quitting without hanging: wait for a worker thread (or pool) a bounded time, then give up on it.

A thread stuck in native code (a driver call, a network file system) cannot be interrupted. Waiting
for it forever would hang the app on quit; destroying its QThread while it runs aborts the process.
So a thread that does not finish in time is *abandoned*: logged, kept referenced here (never
destroyed), and ``gui.app.run_app`` ends the process at once (``os._exit``, after the log is
flushed) when anything was abandoned, instead of letting Python's clean-up destroy it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, QThreadPool

log = logging.getLogger(__name__)

QUIT_WAIT_MS = 10_000  # inference and the background pool: a photo or a file task finishes well within this
TRAINING_QUIT_WAIT_MS = 30_000  # a training run saves its resumable state on the way out

_abandoned: list[tuple[str, QObject]] = []


def wait_or_abandon(worker: QThread | QThreadPool, msecs: int, what: str) -> bool:
    """Wait up to ``msecs`` for ``worker`` (a QThread told to stop, or a QThreadPool) to finish.
    True when it did; False when it was abandoned (see the module docstring)."""
    done = worker.wait(msecs) if isinstance(worker, QThread) else worker.waitForDone(msecs)
    if not done:
        log.error("%s did not stop within %.0f s: quitting without waiting for it", what, msecs / 1000)
        worker.setParent(None)  # its parent's destructor would wait for (or abort on) it
        _abandoned.append((what, worker))
    return done


def abandoned() -> list[str]:
    """What was given up on so far (the process must then end with ``os._exit``)."""
    return [what for what, _ in _abandoned]
