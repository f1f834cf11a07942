"""numpy images -> Qt images, on the GUI thread (pixmaps never leave it)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(rgb: np.ndarray) -> QImage:
    """``(h, w, 3)`` uint8 sRGB -> a QImage that owns a copy of the pixels."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def to_pixmap(rgb: np.ndarray | None) -> QPixmap | None:
    return QPixmap.fromImage(to_qimage(rgb)) if rgb is not None else None
