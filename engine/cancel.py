"""A cancel token: a plain flag that long loops check between units of work.

It is set from another thread (the GUI, a signal handler); a queued message would arrive too late
while the worker is busy, a flag is seen at the next check.
"""

from __future__ import annotations

import threading

from engine.errors import Cancelled


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")

    def reset(self) -> None:
        self._event.clear()
