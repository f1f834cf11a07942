"""The damage mask a person edits before the fill: brush strokes that add or erase damage, with an
undo history. Plain Python and NumPy (no Qt, no torch); the overlay widget only draws it.

The mask is ``(H, W)`` bool at the photo's full size (what the scratch stage fills). Strokes come in
0..1 photo coordinates (the overlay's), with the brush's diameter in photo pixels, and are drawn by
``engine.restoration.mask_edit.paint_mask``. Each edit keeps the mask before it, bit-packed (a
12-megapixel mask is 1.5 MB packed), so undo and redo are exact; the history keeps ``HISTORY``
steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from engine.restoration.mask_edit import mask_overlay, paint_mask

HISTORY = 40
BRUSH_SIZES = (1, 256)  # brush diameter, photo pixels: a 1 px scratch up to a torn corner
DEFAULT_BRUSH = 9


class _Packed:
    """A bool mask, bit-packed."""

    def __init__(self, mask: np.ndarray) -> None:
        self.shape = mask.shape
        self.bits = np.packbits(mask, axis=None)

    def unpack(self) -> np.ndarray:
        count = self.shape[0] * self.shape[1]
        return np.unpackbits(self.bits, count=count).astype(bool).reshape(self.shape)


class DamageMaskEdits:
    """One photo's damage mask and its history (see the module docstring)."""

    def __init__(self, size: tuple[int, int]) -> None:
        """``size``: the photo's full (width, height); the mask starts empty."""
        width, height = (int(v) for v in size)
        if width < 1 or height < 1:
            raise ValueError(f"a mask needs a positive size, got {size}")
        self._mask = np.zeros((height, width), bool)
        self._undo: list[_Packed] = []
        self._redo: list[_Packed] = []
        self.found = False  # the mask came from the detector (or was edited after that)

    # -- reading ----------------------------------------------------------------------------------
    @property
    def mask(self) -> np.ndarray:
        """The mask ``(H, W)`` bool, read-only (``copy()`` to send it)."""
        view = self._mask.view()
        view.flags.writeable = False
        return view

    @property
    def size(self) -> tuple[int, int]:
        return self._mask.shape[1], self._mask.shape[0]

    def share(self) -> float:
        """How much of the photo is marked as damage, 0..1."""
        return float(self._mask.mean())

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def is_empty(self) -> bool:
        return not self._mask.any()

    # -- editing ----------------------------------------------------------------------------------
    def set_found(self, mask: np.ndarray) -> None:
        """The detector's mask replaces the current one (one undo step)."""
        if not (isinstance(mask, np.ndarray) and mask.shape == self._mask.shape):
            raise ValueError(f"the found mask must be {self._mask.shape}, got {getattr(mask, 'shape', type(mask))}")
        self._change(mask.astype(bool, copy=True))
        self.found = True

    def paint(self, points: Sequence[tuple[float, float]], diameter: float, erase: bool = False) -> bool:
        """Add (or with ``erase`` remove) a stroke through ``points`` (0..1 of the photo) of
        ``diameter`` photo pixels. One undo step; False when it changed nothing."""
        if not points:
            return False
        width, height = self.size
        # 0..1 spans the photo's edges; pixel i's centre is at i + 0.5 of them.
        pixels = np.asarray(points, np.float64).reshape(-1, 2) * (width, height) - 0.5
        painted = paint_mask(self._mask, pixels, max(0.5, float(diameter) / 2.0), erase=erase)
        if np.array_equal(painted, self._mask):
            return False
        self._change(painted)
        return True

    def clear(self) -> bool:
        """No damage anywhere (one undo step); False when there was none."""
        if self.is_empty():
            return False
        self._change(np.zeros_like(self._mask))
        return True

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(_Packed(self._mask))
        self._mask = self._undo.pop().unpack()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(_Packed(self._mask))
        self._mask = self._redo.pop().unpack()
        return True

    def _change(self, mask: np.ndarray) -> None:
        self._undo.append(_Packed(self._mask))
        del self._undo[:-HISTORY]
        self._redo.clear()
        self._mask = mask

    # -- showing ----------------------------------------------------------------------------------
    def overlay(self, max_side: int) -> np.ndarray:
        """``(h, w, 4)`` uint8 RGBA of the mask for the view, long side at most ``max_side``
        (area-averaged: a 1 px scratch of a large photo still shows, fainter)."""
        mask = self._mask
        height, width = mask.shape
        scale = max_side / max(width, height)
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            coverage = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            overlay = mask_overlay(coverage > 0)
            overlay[..., 3] = np.round(overlay[..., 3] * np.clip(coverage * 4.0, 0.35, 1.0)).astype(np.uint8)
            return overlay
        return mask_overlay(mask)
