"""A colour photo opened as a reference for hints: reading it, and the colour at a spot. No Qt.

People often have a colour photo of the same place, the same car, the same dress: the eyedropper
samples its colours for hint marks, and "Match this photo's colours" takes its a*b* statistics
(``engine.hints.schema.reference_stats``) for the whole-photo adjustment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.imaging import read_preview_rgb

REFERENCE_SIDE = 1024  # long side kept: enough to pick a colour from and for its statistics
SAMPLE_RADIUS = 2  # the eyedropper averages a (2r+1)^2 patch: film grain and JPEG noise cancel out


def load_reference_photo(path: Path) -> np.ndarray:
    """The reference photo upright, ``(h, w, 3)`` uint8 sRGB, long side at most REFERENCE_SIDE,
    read-only. UnsupportedImage (one line, naming the file) when it cannot be read."""
    rgb = read_preview_rgb(Path(path), REFERENCE_SIDE)
    rgb = np.ascontiguousarray(rgb)
    rgb.setflags(write=False)
    return rgb


def colour_at(rgb: np.ndarray, x: float, y: float, radius: int = SAMPLE_RADIUS) -> str:
    """The mean sRGB colour, as "#rrggbb", of the patch around (x, y) (0..1 of ``rgb``'s width and
    height) of a ``(h, w, 3)`` uint8 image; the patch is cut at the edges."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    col = min(width - 1, max(0, int(x * width)))
    row = min(height - 1, max(0, int(y * height)))
    patch = rgb[max(0, row - radius) : row + radius + 1, max(0, col - radius) : col + radius + 1]
    mean = np.round(patch.reshape(-1, 3).mean(axis=0)).astype(int)
    return "#{:02x}{:02x}{:02x}".format(*mean)
