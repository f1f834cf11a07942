"""Progress of a running batch, fed with its events: counts, current photo, ETA. Used by the
command line's progress bar and the app's batch panel.

The ETA is the mean time per finished photo times the photos left, measured from the first photo's
start (so the model warm-up of the first one is counted once, not extrapolated from a cold start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.batch.run import (
    BatchFinished,
    BatchStarted,
    BatchSummary,
    InputProblem,
    JobDone,
    JobFailed,
    JobSkipped,
    JobStarted,
)


@dataclass
class BatchProgress:
    total: int = 0
    to_do: int = 0
    done: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)  # inputs that could not be used
    current: Path | None = None
    summary: BatchSummary | None = None
    _first_start: float | None = None
    _last_tick: float | None = None

    @property
    def finished_count(self) -> int:
        """Photos of the to-do list that are behind us (done or failed)."""
        return self.done + len(self.failed)

    @property
    def running(self) -> bool:
        return self.summary is None and self.total > 0

    def apply(self, event: object, now: float) -> None:
        """Update from one engine batch event; ``now`` is a monotonic time in seconds."""
        if isinstance(event, BatchStarted):
            self.total, self.to_do = event.total, event.to_do
        elif isinstance(event, InputProblem):
            self.problems.append((event.path, event.message))
        elif isinstance(event, JobStarted):
            self.current = event.job.source
            if self._first_start is None:
                self._first_start = now
        elif isinstance(event, JobDone):
            self.done += 1
            self._last_tick = now
        elif isinstance(event, JobSkipped):
            self.skipped += 1
        elif isinstance(event, JobFailed):
            self.failed.append((event.job.source, event.message))
            self._last_tick = now
        elif isinstance(event, BatchFinished):
            self.summary = event.summary
            self.current = None

    def eta_seconds(self) -> float | None:
        """Seconds left, or None before the first photo is finished."""
        if self._first_start is None or self._last_tick is None or self.finished_count == 0:
            return None
        per_photo = (self._last_tick - self._first_start) / self.finished_count
        return max(0.0, per_photo * (self.to_do - self.finished_count))

    def fraction(self) -> float:
        return self.finished_count / self.to_do if self.to_do else (1.0 if self.summary else 0.0)
