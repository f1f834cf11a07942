"""Plain data that crosses between the GUI thread and the inference thread.

Everything here is a frozen dataclass of paths, numbers, strings and numpy arrays that the sender
never touches again once sent, so the two threads can never race on it. Cancel tokens ride along
(a token is a thread-safe flag, set from the GUI thread and read by the worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.batch_plan import BatchOptions
from engine.cancel import CancelToken
from engine.colorizer import ColorizeSettings

DISPLAY_MAX_SIDE = 2048  # long side of the before/after images the view shows


@dataclass(frozen=True)
class ModelRequest:
    """Load ``model`` (a name, a path, or None for the default) on ``device``."""

    model: str | None
    device: str = "auto"


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI shows about the loaded model."""

    name: str
    description: str
    device: str  # e.g. "CPU, 2 threads, bf16"
    render_size: int
    temperature: float


@dataclass(frozen=True)
class PhotoJob:
    """Colorize one photo for review; the full-resolution result goes to ``cache_path`` (.npy)."""

    source: Path
    settings: ColorizeSettings
    cache_path: Path
    cancel: CancelToken


@dataclass(frozen=True)
class PhotoResult:
    """A finished photo. ``before``/``after``: ``(h, w, 3)`` uint8 sRGB, long side at most
    DISPLAY_MAX_SIDE; ``full_size``: the original's (width, height)."""

    source: Path
    before: np.ndarray
    after: np.ndarray
    full_size: tuple[int, int]
    cache_path: Path
    model: str
    seconds: float


@dataclass(frozen=True)
class PhotoFailure:
    source: Path
    message: str  # for people, one line


@dataclass(frozen=True)
class BatchRequest:
    inputs: tuple[Path, ...]
    options: BatchOptions
    cancel: CancelToken
