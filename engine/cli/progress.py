"""A one-line progress bar with ETA for terminal commands (no dependencies, no Qt).

On a terminal it redraws one line at most every 0.1 s; when the output is not a terminal (a log
file, CI) it prints a plain line at most every ``plain_interval`` seconds instead.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from engine.durations import format_duration

_CONTROL = dict.fromkeys(range(32), " ")  # a file name with a newline must not break the line


class ProgressLine:
    def __init__(self, total: int, stream: TextIO | None = None, width: int = 28, plain_interval: float = 10.0):
        self.total = max(0, total)
        self._stream = stream
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.plain_interval = plain_interval
        self._last = 0.0
        self._length = 0

    @property
    def stream(self) -> TextIO:
        """The given stream, else stderr as it is now (a command may redirect it after creating us)."""
        return self._stream or sys.stderr

    def update(self, done: int, detail: str = "", eta_seconds: float | None = None, force: bool = False) -> None:
        now = time.monotonic()
        interval = 0.1 if self.tty else self.plain_interval
        if not force and now - self._last < interval:
            return
        self._last = now
        detail = detail.translate(_CONTROL)
        fraction = done / self.total if self.total else 1.0
        eta = f" ETA {format_duration(eta_seconds)}" if eta_seconds is not None and done < self.total else ""
        if self.tty:
            filled = int(self.width * fraction)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"\r[{bar}] {done}/{self.total} {fraction:4.0%}{eta} {detail}"
            columns = 120
            text = text[:columns]
            pad = max(0, self._length - len(text))
            self.stream.write(text + " " * pad)
            self._length = len(text)
        else:
            self.stream.write(f"{done}/{self.total} ({fraction:.0%}){eta} {detail}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._length:
            self.stream.write("\n")
            self.stream.flush()
            self._length = 0
