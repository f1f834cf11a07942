"""Filling damage in: OpenCV inpainting of the masked pixels, tile by tile at full resolution.

``fill`` is what the GUI calls with an edited mask. Only masked pixels change: an empty mask gives
the input back byte for byte. Two methods (``cv2.inpaint``): ``telea`` (Telea 2004, "An image
inpainting technique based on the fast marching method": each pixel from a weighted average of
its known neighbours, marching inward from the edge of the hole) and ``ns`` (Bertalmio, Bertozzi
and Sapiro 2001: Navier-Stokes, continuing the isophotes into the hole). Which one is better, and
at what radius, is measured by ``benchmarks/restoration.py``.

Tiles are read with context (``TILE_CONTEXT``) so that a hole crossing a tile's edge is filled
from the same neighbours as in one pass; tiles without damage are skipped.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from engine.cancel import CancelToken
from engine.restoration.tiling import Tile, map_tiles, tile_count

TILE_CONTEXT = 64  # pixels of context around each tile (a hole's edge plus the radius)
_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def check_mask(luma: np.ndarray, mask: np.ndarray) -> None:
    """ValueError unless ``luma`` is ``(H, W)`` uint8/uint16 and ``mask`` an ``(H, W)`` bool (or
    0/non-zero uint8) array of the same size."""
    if not (isinstance(luma, np.ndarray) and luma.ndim == 2 and luma.dtype in (np.uint8, np.uint16) and luma.size):
        raise ValueError(
            f"luma must be a non-empty (H, W) uint8 or uint16 array, got "
            f"{getattr(luma, 'shape', type(luma))} {getattr(luma, 'dtype', '')}"
        )
    if not (isinstance(mask, np.ndarray) and mask.shape == luma.shape and mask.dtype in (np.bool_, np.uint8)):
        raise ValueError(
            f"the damage mask must be a {luma.shape} bool or uint8 array, got "
            f"{getattr(mask, 'shape', type(mask))} {getattr(mask, 'dtype', '')}"
        )


def fill_tiles(height: int, width: int, tile: int) -> int:
    """How many units of work ``fill`` reports for a photo of this size."""
    return tile_count(height, width, tile)


def fill(
    luma: np.ndarray,
    mask: np.ndarray,
    method: str = "telea",
    radius: int = 3,
    *,
    tile: int = 1024,
    cancel: CancelToken | None = None,
    step: Callable[[], None] | None = None,
) -> np.ndarray:
    """``luma`` ``(H, W)`` uint8/uint16 with the pixels where ``mask`` ``(H, W)`` is true (bool, or
    uint8 non-zero) filled from their surroundings; same shape and dtype, a new array. Pixels
    outside the mask are never changed. Cancelled (``cancel``) between tiles."""
    check_mask(luma, mask)
    if method not in _METHODS:
        raise ValueError(f"fill method must be one of {', '.join(_METHODS)}, got {str(method)[:40]!r}")
    if not isinstance(radius, int) or isinstance(radius, bool) or not 1 <= radius <= 64:
        raise ValueError(f"fill radius must be a whole number from 1 to 64, got {radius!r}")
    cancel = cancel or CancelToken()
    holes = mask.astype(np.uint8, copy=False) if mask.dtype == np.bool_ else (mask != 0).astype(np.uint8)
    if not holes.any():
        if step is not None:
            height, width = luma.shape
            for _ in range(fill_tiles(height, width, tile)):
                step()
        return luma.copy()
    flag = _METHODS[method]

    def one(piece: np.ndarray, where: Tile) -> np.ndarray | None:
        holes_here = holes[where.outer]
        if not holes_here[where.crop].any():
            return None
        filled = cv2.inpaint(np.ascontiguousarray(piece), holes_here, float(radius), flag)
        # Only the mask may change: inpainting leaves known pixels alone, and this makes it certain.
        return np.where(holes_here.astype(bool), filled, piece)

    return map_tiles(luma, one, tile, TILE_CONTEXT + radius, cancel, step=step)
