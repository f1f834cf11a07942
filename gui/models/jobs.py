"""Plain data that crosses between the GUI thread and the inference thread.

Everything here is a frozen dataclass of paths, numbers, strings and numpy arrays that the sender
never touches again once sent, so the two threads can never race on it. Cancel tokens ride along
(a token is a thread-safe flag, set from the GUI thread and read by the worker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.batch.settings import BatchOptions, ColorizeSettings
from engine.cancel import CancelToken
from engine.hints.schema import PhotoHints
from engine.hints.store import HintStore
from gui.models.batch_form import ClusterChoice
from gui.models.restoration_choice import AppliedRestoration, RestorationChoice
from gui.models.tuning import Tuning

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
    trained_on: str = ""
    takes_hints: bool = False  # the model has colour-hint input channels (``Colorizer.takes_hints``)


@dataclass(frozen=True)
class PhotoJob:
    """Colorize one photo for review; the full-resolution result goes to ``cache_path`` (.npy)."""

    source: Path
    settings: ColorizeSettings
    cache_path: Path
    cancel: CancelToken
    tuning: Tuning = field(default_factory=lambda: Tuning(""))  # the panel's values behind the settings
    hints: PhotoHints | None = None  # e.g. a colour photo restored toward its own colours
    restoration: AppliedRestoration | None = None  # colorize from this restored luma (the Restore tab)


@dataclass(frozen=True)
class PhotoResult:
    """A finished photo. ``before``/``after``: ``(h, w, 3)`` uint8 sRGB, long side at most
    DISPLAY_MAX_SIDE (``before`` is None for a re-tuned result: the original did not change);
    ``full_size``: the original's (width, height); ``render_size``: the one actually used."""

    source: Path
    before: np.ndarray | None
    after: np.ndarray
    full_size: tuple[int, int]
    cache_path: Path
    model: str
    seconds: float
    tuning: Tuning = field(default_factory=lambda: Tuning(""))
    render_size: int = 0
    retuned: bool = False  # re-decoded from the kept network output, no model run
    hints: PhotoHints | None = None  # the hints it was made with (its job's)


@dataclass(frozen=True)
class RetuneRequest:
    """Decode the photo on show again with new saturation / boldness (its network output is kept
    by the worker); ``generation`` orders requests: only the newest is served."""

    job: PhotoJob
    generation: int


@dataclass(frozen=True)
class RetuneSaved:
    """The full-resolution result of a re-tune is in the cache (export is up to date)."""

    source: Path
    generation: int


@dataclass(frozen=True)
class PhotoFailure:
    source: Path
    message: str  # for people, one line


@dataclass(frozen=True)
class BatchRequest:
    inputs: tuple[Path, ...]
    options: BatchOptions
    cancel: CancelToken
    hint_store: HintStore | None = None  # each photo's saved hints, for the photos that have them
    restoration: RestorationChoice | None = None  # repair each photo first, as colorize --restore does
    cluster: ClusterChoice | None = None  # run on this Ray cluster, as colorize --cluster does
    upscale: str | None = None  # finish each result with this added upscaler (colorize --upscale)
    faces: str | None = None  # and this added face model (colorize --faces)
