"""Durations for people, the one place that writes them: a countdown and an estimate.

``format_duration`` is the countdown of progress lines and ETAs (``1:05:09``, ``4:07``, ``0:12``:
the units never change under the reader's eyes); ``about_duration`` the rounded estimate of
sentences (``about 40 s``, ``about 3 min``, ``about 2 h 15 min``).
"""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` from an hour on, ``m:ss`` below."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:d}:{secs:02d}"


def about_duration(seconds: float) -> str:
    """``about 40 s``, ``about 3 min``, ``about 2 h 15 min`` (rounded, for people)."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"
