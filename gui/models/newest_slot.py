"""One slot holding the newest request to a worker: written from the GUI thread, taken by the worker.

The re-tune of the photo on show and the hint preview work this way. A slider drag or a run of hint
edits sends many requests while the worker is busy, and only the newest matters: writing replaces
what waits (under a plain lock, never behind the work), and the worker takes the newest when it
is free. A queued signal per request would pile up behind the work it should have replaced
(superqt's lesson); a cancel flag alone could not say what to do instead.

Waking: ``put`` and ``update`` say ``wake=True`` only when the worker is not already due to look,
so a burst of requests costs one queued wake-up. The worker keeps taking until ``take`` returns
None; that same locked step marks it as no longer due, so a request written at that moment wakes
it again and is never left waiting. Plain Python, no Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class Posted(NamedTuple, Generic[T]):
    """What writing did: ``wake``: the caller must wake the worker; ``replaced``: the request it
    replaced before the worker took it (None when there was none waiting)."""

    wake: bool
    replaced: T | None


class NewestSlot(Generic[T]):
    """The newest request (see the module docstring). The value stays after ``take`` (``peek``), so
    ``update`` can build the next request on it."""

    def __init__(self, initial: T | None = None) -> None:
        self._lock = threading.Lock()
        self._value: T | None = initial
        self._fresh = False  # written and not taken yet
        self._due = False  # the worker has been woken and has not yet found the slot empty

    def update(self, change: Callable[[T | None], T]) -> Posted[T]:
        """Replace the value with ``change(value)`` in one locked step (``change`` must be quick)."""
        with self._lock:
            replaced = self._value if self._fresh else None
            self._value = change(self._value)
            self._fresh = True
            wake, self._due = not self._due, True
            return Posted(wake, replaced)

    def put(self, value: T) -> Posted[T]:
        """Make ``value`` the newest request."""
        return self.update(lambda _old: value)

    def take(self) -> T | None:
        """The newest request if it has not been taken yet; else None, and the worker is no longer
        due (the next write wakes it)."""
        with self._lock:
            if not self._fresh:
                self._due = False
                return None
            self._fresh = False
            return self._value

    def peek(self) -> T | None:
        """The newest request, taken or not."""
        with self._lock:
            return self._value

    def pending(self) -> bool:
        """True while a request waits to be taken."""
        with self._lock:
            return self._fresh
