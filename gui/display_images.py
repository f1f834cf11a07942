"""Plain numpy/Pillow helpers behind the view: display-sized images and the session cache.

These run off the GUI thread (in the inference worker or the background pool); nothing here knows Qt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from engine.atomic_files import atomic_file, ensure_folder
from engine.imaging import read_photo, read_preview_rgb, write_photo
from gui.jobs import DISPLAY_MAX_SIDE


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


def load_display_pair(source: Path, cache_path: Path | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The before image of ``source`` and, when a result is cached, the after image, display-sized."""
    before = read_preview_rgb(source, DISPLAY_MAX_SIDE)
    after = to_display(np.asarray(load_cached(cache_path))) if cache_path is not None and cache_path.exists() else None
    return before, after


def make_thumbnail(source: Path, max_side: int) -> np.ndarray:
    return read_preview_rgb(source, max_side)


def export_result(source: Path, cache_path: Path, target: Path, quality: int = 95) -> Path:
    """Write a cached result to ``target`` with the original's metadata (and alpha); never over the source."""
    photo = read_photo(source)
    rgb = np.asarray(load_cached(cache_path))
    return write_photo(target, rgb, photo.metadata, alpha=photo.alpha, quality=quality, forbidden=(Path(source),))
