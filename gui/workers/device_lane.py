"""The device lane: one queue for the scarce device (GPU or CPU cores), as Vorta keeps one job queue
per repository. Colorizing (the inference thread), a training run and the wizard's time estimate
each take the lane before they touch torch and give it back when done: one of them runs at a time,
the others wait in arrival order.

A job waits on its own thread (``acquire`` blocks, never the GUI thread's business); the wait is
checked against ``give_up`` a few times a second, so a job cancelled while it waits stops at once.
The holder's thread may take the lane again while it holds it (the inference thread's jobs nest:
a queue run loads its model and lets the hint preview render between photos). ``close`` (on quit)
makes every waiter give up; the holder finishes and releases as usual.

``changed`` carries a ``LaneState`` each time the holder or the waiting list changes; it is emitted
on the thread that made the change, so connect QObject methods (they are then called on their own
thread, the GUI's) to show "waiting for the device".
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

# The jobs, as people read them ("waiting for the device: training a model").
COLORIZING = "colorizing photos"
LOADING_MODEL = "loading a model"
BATCH = "colorizing a folder"
EXPORTING = "finishing an export"
PREVIEWING = "previewing hints"
TRAINING = "training a model"
ESTIMATING = "estimating the training time"
INFERENCE_JOBS = (COLORIZING, LOADING_MODEL, BATCH, PREVIEWING, EXPORTING)  # the inference thread's

POLL_S = 0.05  # how often a waiting job looks at its give_up (and the closed flag)


@dataclass(frozen=True)
class LaneState:
    holder: str | None  # the job on the device, None when it is free
    waiting: tuple[str, ...]  # the jobs waiting for it, first come first

    def waits(self, jobs: tuple[str, ...] | str) -> bool:
        """True when one of ``jobs`` is waiting while another job holds the lane."""
        jobs = (jobs,) if isinstance(jobs, str) else jobs
        return self.holder is not None and any(job in jobs for job in self.waiting)


def waiting_text(state: LaneState) -> str:
    """'Waiting for the device (busy training a model)', for a status line; '' when it is free."""
    return f"Waiting for the device (busy {state.holder})" if state.holder else ""


class DeviceLane(QObject):
    changed = Signal(object)  # LaneState

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._condition = threading.Condition()
        self._holder: tuple[int, str] | None = None  # (thread id, job)
        self._depth = 0  # nested holds by the holder's thread
        self._waiting: list[tuple[int, str]] = []  # (ticket, job), first come first
        self._tickets = itertools.count()
        self._closed = False

    # -- taking turns ------------------------------------------------------------------------------------
    def acquire(self, job: str, give_up: Callable[[], bool] | None = None) -> bool:
        """Block until this thread holds the lane (True), or ``give_up()`` turns true or the lane is
        closed while waiting (False: the job must not touch the device). Release each True with ``release``."""
        me = threading.get_ident()
        with self._condition:
            if self._holder is not None and self._holder[0] == me:
                self._depth += 1
                return True
            if self._closed:
                return False
            ticket = next(self._tickets)
            self._waiting.append((ticket, job))
            state = self._state()
        if state.holder is not None:
            log.info("%s waits for the device (%s holds it)", job, state.holder)
        self.changed.emit(state)
        granted = False
        with self._condition:
            while True:
                if self._holder is None and self._waiting[0][0] == ticket:
                    self._holder, self._depth, granted = (me, job), 1, True
                    break
                if self._closed or (give_up is not None and give_up()):
                    break
                self._condition.wait(POLL_S)
            self._waiting = [w for w in self._waiting if w[0] != ticket]
            self._condition.notify_all()  # the next in line may be first now
            state = self._state()
        self.changed.emit(state)
        return granted

    def release(self) -> None:
        """Give the lane back (the holder's thread, once per granted ``acquire``)."""
        with self._condition:
            if self._holder is None or self._holder[0] != threading.get_ident():
                raise RuntimeError("the device lane is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth:
                return
            self._holder = None
            self._condition.notify_all()
            state = self._state()
        self.changed.emit(state)

    @contextmanager
    def hold(self, job: str, give_up: Callable[[], bool] | None = None) -> Iterator[bool]:
        """``with lane.hold(job) as granted:`` the body runs holding the lane when ``granted``."""
        granted = self.acquire(job, give_up)
        try:
            yield granted
        finally:
            if granted:
                self.release()

    # -- state -----------------------------------------------------------------------------------------
    def state(self) -> LaneState:
        with self._condition:
            return self._state()

    def close(self) -> None:
        """Quitting: every waiting job gives up, no new one is granted; the holder finishes. Idempotent."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _state(self) -> LaneState:
        return LaneState(self._holder[1] if self._holder else None, tuple(job for _, job in self._waiting))


def uses_device(job: str, give_up: Callable[..., bool] | None = None, refused: Callable[..., None] | None = None):
    """Decorate a worker slot that drives torch: it runs holding ``self.lane`` (when set) for ``job``.
    ``give_up(self, *args)`` ends a wait (the job was cancelled); then ``refused(self, *args)`` runs
    instead of the slot, to report that nothing was done."""

    def decorate(method):
        def run(self, *args):
            lane: DeviceLane | None = getattr(self, "lane", None)
            if lane is None:
                return method(self, *args)
            stop = (lambda: give_up(self, *args)) if give_up is not None else None
            with lane.hold(job, stop) as granted:
                if granted:
                    return method(self, *args)
            if refused is not None:
                refused(self, *args)
            return None

        run.__name__, run.__qualname__, run.__doc__ = method.__name__, method.__qualname__, method.__doc__
        return run

    return decorate
