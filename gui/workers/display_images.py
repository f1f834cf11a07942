"""Plain numpy/Pillow helpers behind the view: display-sized images and the session cache.

These run off the GUI thread (in the inference worker or the background pool); nothing here knows Qt.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from engine.atomic_files import atomic_file, ensure_folder
from engine.batch.ledger import OutputLedger
from engine.errors import OutputError
from engine.imaging import read_photo, read_preview_rgb, write_photo
from gui.models.jobs import DISPLAY_MAX_SIDE

if TYPE_CHECKING:  # imports torch: only the inference thread's exports finish photos
    from engine.external.finishing import Finished
    from engine.imaging import PhotoMetadata

    # ``(rgb, alpha, metadata)`` of a reviewed result -> the same, upscaled and/or faces restored
    # (``engine.external.finishing.Finishing.apply``; it may raise Cancelled).
    Finish = Callable[[np.ndarray, np.ndarray | None, PhotoMetadata], Finished]

_EXIF_ORIENTATION = 0x0112
_SWAPPED_ORIENTATIONS = (5, 6, 7, 8)  # a quarter turn: width and height trade places
NOT_REVIVES = "{name} is already there and Revive did not write it, so Revive will not replace it: choose another name"


def to_display(rgb: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """``(H, W, 3)`` uint8/uint16 sRGB -> ``(h, w, 3)`` uint8 with the long side at most ``max_side``."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    elif rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 or uint16, got {rgb.dtype}")
    height, width = rgb.shape[:2]
    scale = max_side / max(width, height)
    if scale >= 1.0:
        return np.ascontiguousarray(rgb)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR, reducing_gap=2.0))


def save_cached(path: Path, rgb: np.ndarray) -> Path:
    """Keep a full-resolution result for export (raw .npy: exact, any bit depth, fast); atomic."""
    ensure_folder(path)
    with atomic_file(path) as handle:
        np.save(handle, rgb, allow_pickle=False)
    return path


def load_cached(path: Path) -> np.ndarray:
    return np.load(path, mmap_mode="r", allow_pickle=False)


def photo_size(path: Path) -> tuple[int, int] | None:
    """A photo's upright (width, height) from its header (no decoding), or None when unreadable."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return (height, width) if orientation in _SWAPPED_ORIENTATIONS else (width, height)


def load_display_pair(source: Path, cache_path: Path | None) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """The before image of ``source`` and, when a result is cached, the after image, display-sized;
    and the original's full (width, height), so the view's zoom is in the original's pixels."""
    before = read_preview_rgb(source, DISPLAY_MAX_SIDE)
    after = to_display(np.asarray(load_cached(cache_path))) if cache_path is not None and cache_path.exists() else None
    size = photo_size(source) or (before.shape[1], before.shape[0])
    return before, after, size


def make_thumbnail(source: Path, max_side: int) -> np.ndarray:
    return read_preview_rgb(source, max_side)


def export_conflict(target: Path) -> str | None:
    """What is at ``target`` now: None (nothing), ``"revive"`` (an export Revive wrote, unchanged
    since: it may be replaced) or ``"other"`` (anything else: never replaced)."""
    target = Path(target)
    if not os.path.lexists(target):
        return None
    return "revive" if OutputLedger.load(target.parent).owns(target) else "other"


def export_result(
    source: Path, cache_path: Path, target: Path, quality: int = 95, finish: Finish | None = None
) -> Path:
    """Write a cached result to ``target`` with the original's metadata (and alpha), and record
    it in the folder's ledger (``engine.batch.ledger``). Replaces a file only when the ledger
    proves Revive wrote it; refuses anything else there (OutputError), and never the source.
    ``finish`` (an upscaler, a face model) changes the result first, as a batch's finishing does."""
    target = Path(target)
    photo = read_photo(source)
    rgb, alpha, metadata = np.asarray(load_cached(cache_path)), photo.alpha, photo.metadata
    ensure_folder(target)
    ledger = OutputLedger.load(target.parent)
    if os.path.lexists(target) and not ledger.owns(target):  # refused before minutes of upscaling
        raise OutputError(NOT_REVIVES.format(name=target.name))
    if finish is not None:
        finished = finish(rgb, alpha, metadata)
        rgb, alpha, metadata = finished.rgb, finished.alpha, finished.metadata
    replace = os.path.lexists(target)
    if replace and not ledger.owns(target):  # checked again: it may have changed meanwhile
        raise OutputError(NOT_REVIVES.format(name=target.name))
    write_photo(target, rgb, metadata, alpha=alpha, quality=quality, forbidden=(Path(source),), replace=replace)
    ledger.record(target, Path(source))
    return target


class DetailSource:
    """Full-resolution pixels of the photo on show, for the view past its display copy.

    Keeps the last decoded original (one photo: a 12-MP scan is 36 MB) so panning at 100 % does
    not decode it again; the result comes straight from the cached ``.npy`` (memory-mapped).
    Called from the background pool; thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._rgb: np.ndarray | None = None

    def region(
        self, source: Path, cache_path: Path | None, rect: tuple[int, int, int, int]
    ) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray | None]:
        """``rect`` (x, y, width, height, original pixels) of the original and of the result:
        ``(h, w, 3)`` uint8 each (the result None when not cached); the rect clipped to the photo."""
        original = self._original(Path(source))
        height, width = original.shape[:2]
        x, y, w, h = rect
        x0, y0 = max(0, min(width - 1, int(x))), max(0, min(height - 1, int(y)))
        x1, y1 = max(x0 + 1, min(width, int(x + w))), max(y0 + 1, min(height, int(y + h)))
        before = np.ascontiguousarray(original[y0:y1, x0:x1])
        after = None
        if cache_path is not None and Path(cache_path).exists():
            cached = load_cached(cache_path)
            if cached.shape[:2] == (height, width):
                crop = np.asarray(cached[y0:y1, x0:x1])
                after = np.ascontiguousarray((crop >> 8).astype(np.uint8) if crop.dtype == np.uint16 else crop)
        return (x0, y0, x1 - x0, y1 - y0), before, after

    def forget(self) -> None:
        with self._lock:
            self._path = self._rgb = None

    def _original(self, source: Path) -> np.ndarray:
        with self._lock:
            if self._path == source and self._rgb is not None:
                return self._rgb
        rgb = read_preview_rgb(source, 1 << 30)  # never enlarges: the whole photo, upright
        with self._lock:
            self._path, self._rgb = source, rgb
        return rgb
