"""Generated photos for the restoration tests: photo-like gray images, drawn scratches, faded prints.

Small (a few hundred pixels a side) and deterministic: every test runs in well under a second.
"""

from __future__ import annotations

import cv2
import numpy as np


def photo_like(height: int = 192, width: int = 256, seed: int = 0) -> np.ndarray:
    """``(height, width)`` uint8: smooth tones, a few soft shapes and mild texture, like a
    downscaled photo (no thin lines, no specks: nothing a restorer should touch)."""
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 18)
    field = (field - field.min()) / max(1e-6, float(np.ptp(field)))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = 0.25 + 0.4 * field + 0.15 * (x / width)
    for _ in range(4):
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        radius = rng.uniform(0.08, 0.2) * min(height, width)
        disc = ((y - cy) ** 2 + (x - cx) ** 2 < radius**2).astype(np.float32)
        image += rng.uniform(-0.2, 0.2) * cv2.GaussianBlur(disc, (0, 0), 2.0)
    texture = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 1.5)
    image += 0.01 * texture
    low, high = np.percentile(image, [1, 99])
    image = 0.07 + 0.86 * (image - low) / max(1e-6, high - low)  # a well-exposed print: near-black to near-white
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def draw_scratch(
    image: np.ndarray, value: int = 250, thickness: int = 2, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(scratched copy, true mask): a long slightly curved bright (or dark) scratch across ``image``."""
    rng = np.random.default_rng(seed)
    h, w = image.shape
    t = np.linspace(0, 1, 200)[:, None]
    p0 = np.array([rng.uniform(0.1, 0.3) * w, 0.0])
    p3 = np.array([rng.uniform(0.6, 0.9) * w, h - 1.0])
    p1 = p0 + (p3 - p0) / 3 + np.array([0.1 * w, 0.0])
    p2 = p0 + 2 * (p3 - p0) / 3 - np.array([0.1 * w, 0.0])
    curve = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    drawn = image.copy()
    cv2.polylines(drawn, [np.round(curve).astype(np.int32)], False, int(value), thickness, cv2.LINE_8)
    return drawn, drawn != image


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    top = 255.0 if a.dtype == np.uint8 else 65535.0
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(top * top / mse)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / max(1, int((a | b).sum()))
