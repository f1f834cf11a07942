"""The photos of the main list waiting to be colorized: a thread-safe queue shared by the
controller (GUI thread, which adds, reorders and drops photos) and the inference worker (which
takes the next photo while its read-ahead runs). Plain Python, no Qt, no torch.

The controller keeps the photo on show first; photos already taken by the worker (read ahead)
are out of the queue and finish. Who starts the worker: ``push`` says True when nobody is taking
photos, and ``take`` returning None marks the taker gone in the same locked step, so a photo
pushed at the moment the worker runs dry is never left waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from gui.models.jobs import PhotoJob


class ReviewQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: list[PhotoJob] = []
        self._taking = False  # a worker is running the queue
        self._current: Path | None = None  # the photo on show: its network output is kept

    def push(self, jobs: Iterable[PhotoJob]) -> bool:
        """Add (or replace, by source) jobs at the end, the photo on show first. True when nobody
        is taking photos: the caller must then ask the worker to run the queue."""
        with self._lock:
            for job in jobs:
                self._jobs = [j for j in self._jobs if j.source != job.source]
                self._jobs.append(job)
            self._put_current_first()
            start = bool(self._jobs) and not self._taking
            if start:
                self._taking = True
            return start

    def take(self) -> PhotoJob | None:
        """The next job, or None when the queue is empty (the taker is then done)."""
        with self._lock:
            if not self._jobs:
                self._taking = False
                return None
            return self._jobs.pop(0)

    def remove(self, sources: Iterable[Path]) -> list[Path]:
        """Drop waiting jobs; returns the sources that were waiting."""
        gone = {Path(s) for s in sources}
        with self._lock:
            dropped = [j.source for j in self._jobs if j.source in gone]
            self._jobs = [j for j in self._jobs if j.source not in gone]
            return dropped

    def clear(self) -> list[Path]:
        """Drop every waiting job; returns their sources."""
        with self._lock:
            dropped = [j.source for j in self._jobs]
            self._jobs = []
            return dropped

    def set_current(self, source: Path | None) -> None:
        """The photo on show goes first; the worker keeps its network output for instant tuning."""
        with self._lock:
            self._current = Path(source) if source is not None else None
            self._put_current_first()

    def current(self) -> Path | None:
        with self._lock:
            return self._current

    def waiting(self) -> list[Path]:
        with self._lock:
            return [j.source for j in self._jobs]

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _put_current_first(self) -> None:
        for index, job in enumerate(self._jobs):
            if job.source == self._current:
                if index:
                    self._jobs.insert(0, self._jobs.pop(index))
                return
