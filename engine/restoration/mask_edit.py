"""The damage mask for people: an overlay to show it, brush strokes to edit it (Qt-free).

The GUI shows the scratch stage's mask over the photo (``mask_overlay``: an RGBA image the view
wraps in a QImage and paints on top, scaled like the photo), lets the user add or erase damage
with a round brush (``paint_mask``), then fills the edited mask (``engine.restoration.fill.fill``
or ``Restorer.restore(..., mask=edited)``). Masks are ``(H, W)`` bool at the photo's full size.
"""

from __future__ import annotations

import cv2
import numpy as np

OVERLAY_COLOUR = (255, 40, 90)  # a magenta red that no old photo's gray is mistaken for


def mask_overlay(mask: np.ndarray, colour: tuple[int, int, int] = OVERLAY_COLOUR, opacity: float = 0.6) -> np.ndarray:
    """``(H, W, 4)`` uint8 RGBA: ``colour`` at ``opacity`` where ``mask`` ``(H, W)`` is true,
    transparent elsewhere."""
    if not (isinstance(mask, np.ndarray) and mask.ndim == 2):
        raise ValueError(f"mask must be a (H, W) array, got {getattr(mask, 'shape', type(mask))}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be from 0 to 1, got {opacity}")
    overlay = np.zeros((*mask.shape, 4), np.uint8)
    on = mask.astype(bool)
    overlay[on, :3] = colour
    overlay[on, 3] = round(255 * opacity)
    return overlay


def paint_mask(mask: np.ndarray, points: np.ndarray, radius: float, erase: bool = False) -> np.ndarray:
    """A new mask with a brush stroke through ``points`` ``(N, 2)`` (x, y in photo pixels, floats
    allowed) of ``radius`` pixels added (or, with ``erase``, removed)."""
    if not (isinstance(mask, np.ndarray) and mask.ndim == 2):
        raise ValueError(f"mask must be a (H, W) array, got {getattr(mask, 'shape', type(mask))}")
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if radius <= 0 or not np.isfinite(points).all():
        raise ValueError("the brush needs a positive radius and finite points")
    stroke = np.zeros(mask.shape, np.uint8)
    fixed = np.round(points * 16).astype(np.int32)  # sub-pixel positions (shift=4)
    thickness = max(1, round(2 * radius))
    if len(fixed) == 1:
        cv2.circle(stroke, tuple(int(v) for v in fixed[0]), round(radius * 16), 1, -1, cv2.LINE_8, shift=4)
    else:
        cv2.polylines(stroke, [fixed], False, 1, thickness, cv2.LINE_8, shift=4)
    painted = stroke.astype(bool)
    return (mask.astype(bool) & ~painted) if erase else (mask.astype(bool) | painted)
