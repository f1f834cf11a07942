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


@dataclass(frozen=True)
class ExportRequest:
    """Export reviewed results finished by added models (``upscale``, ``faces``: names), on the
    inference thread: to ``target`` (one photo) or into ``folder`` (named as a batch's outputs)."""

    results: tuple[tuple[Path, Path], ...]  # (original, its cached full-resolution result)
    cancel: CancelToken
    target: Path | None = None
    folder: Path | None = None
    format: str = "same"  # for a folder export (gui.models.export_naming.EXPORT_FORMATS)
    quality: int = 95
    upscale: str | None = None
    faces: str | None = None
    left_out: int = 0  # photos of a folder export without a result (said with the summary)

    def __post_init__(self) -> None:
        if (self.target is None) == (self.folder is None):
            raise ValueError("an export goes to a file or into a folder")
        if self.target is not None and len(self.results) != 1:
            raise ValueError("an export to a file takes one photo")
        if not (self.upscale or self.faces):
            raise ValueError("a finished export needs an upscaler or a face model")


EXPORT_LOADING, EXPORT_UPSCALING, EXPORT_FACES = "loading the models", "upscaling", "restoring faces"


@dataclass(frozen=True)
class ExportProgress:
    """Where a finished export is: photo ``index`` (from 0) of ``count``, at ``stage``; the
    upscaler's tiles of that photo (0 of 0 before it starts)."""

    photo: Path
    index: int
    count: int
    stage: str  # EXPORT_LOADING, EXPORT_UPSCALING or EXPORT_FACES
    tiles_done: int = 0
    tiles_total: int = 0

    @property
    def percent(self) -> int:
        within = self.tiles_done / self.tiles_total if self.tiles_total else 0.0
        return round(100 * (self.index + within) / max(1, self.count))

    def text(self) -> str:
        """'Exporting img.jpg (2 of 5): upscaling 40 %'."""
        of = f" ({self.index + 1} of {self.count})" if self.count > 1 else ""
        upscaling = self.stage == EXPORT_UPSCALING and self.tiles_total
        tiles = f" {round(100 * self.tiles_done / self.tiles_total)} %" if upscaling else ""
        return f"Exporting {self.photo.name}{of}: {self.stage}{tiles}"
