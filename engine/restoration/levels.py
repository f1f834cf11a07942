"""Fading and contrast: automatic levels, gamma and local contrast (CLAHE) on the luminance.

A faded print has lost its blacks and whites: its histogram sits in a narrow band of grays. The
levels take the ``black_percentile`` and ``white_percentile`` of the histogram as the new black
and white (a few dust specks or a white border cannot hold the stretch back), with the gain capped
(``max_gain``) so a photo that is gray on purpose (fog, a blank wall) is not blown up into noise.
The gamma then moves the median half-way (in log terms) toward mid-gray, within 0.75..1.33; CLAHE
(Zuiderveld 1994, "Contrast Limited Adaptive Histogram Equalization", OpenCV's) adds local contrast
with a clip limit that keeps it from amplifying grain. ``strength`` blends each step with its input.

Levels and gamma are one lookup table, applied strip by strip (each strip is a unit of work that
is reported and may be cancelled). CLAHE works on a grid over the whole photo and is one unit: on
a 12-megapixel photo it takes tens of milliseconds, less than one strip of a denoising stage.
uint8 and uint16 luma are handled alike (a 65536-entry table for uint16).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from engine.cancel import CancelToken
from engine.restoration.stages import FadingOptions

STRIPS = 8  # lookup-table work is split into this many strips of rows
MIN_SPAN = 0.02  # a histogram narrower than this (of the range) is a blank page, left alone
GAMMA_LIMITS = (0.75, 1.0 / 0.75)


def fading_units() -> int:
    """How many units of work ``correct_fading`` reports."""
    return STRIPS + 1


def _percentile(histogram: np.ndarray, total: int, percent: float) -> int:
    cumulative = np.cumsum(histogram)
    return int(np.searchsorted(cumulative, total * percent / 100.0, side="left"))


def levels_table(luma: np.ndarray, options: FadingOptions) -> np.ndarray:
    """The lookup table (256 or 65536 entries, ``luma``'s dtype) of levels and gamma for ``luma``,
    blended with the identity by ``options.strength``."""
    top = 255 if luma.dtype == np.uint8 else 65535
    histogram = np.bincount(luma.ravel(), minlength=top + 1)
    total = luma.size
    black = _percentile(histogram, total, options.black_percentile) / top
    white = _percentile(histogram, total, options.white_percentile) / top
    x = np.arange(top + 1, dtype=np.float64) / top
    if white - black < MIN_SPAN:
        return np.arange(top + 1, dtype=luma.dtype)
    span = white - black
    if 1.0 / span > options.max_gain:  # keep the middle of the band where it is, stretched less
        middle = (black + white) / 2
        span = 1.0 / options.max_gain
        black = min(max(0.0, middle - span / 2), 1.0 - span)
    stretched = np.clip((x - black) / span, 0.0, 1.0)
    gamma = options.gamma if options.gamma is not None else _auto_gamma(histogram, total, black, span, top)
    corrected = stretched**gamma
    table = x + options.strength * (corrected - x)
    return np.clip(np.round(table * top), 0, top).astype(luma.dtype)


def _auto_gamma(histogram: np.ndarray, total: int, black: float, span: float, top: int) -> float:
    median = (_percentile(histogram, total, 50.0) / top - black) / span
    median = min(max(median, 0.02), 0.98)
    gamma = math.sqrt(math.log(0.5) / math.log(median))  # half-way, in log terms, to median -> 0.5
    return min(max(gamma, GAMMA_LIMITS[0]), GAMMA_LIMITS[1])


def correct_fading(
    luma: np.ndarray, options: FadingOptions, cancel: CancelToken | None = None, step: Callable[[], None] | None = None
) -> np.ndarray:
    """``luma`` ``(H, W)`` uint8/uint16 with levels, gamma and CLAHE applied (same shape and dtype,
    a new array); strength 0 gives an unchanged copy. Cancelled (``cancel``) between units."""
    cancel = cancel or CancelToken()
    cancel.raise_if_cancelled()
    table = levels_table(luma, options)
    out = np.empty_like(luma)
    for rows in np.array_split(np.arange(luma.shape[0]), STRIPS):
        cancel.raise_if_cancelled()
        if len(rows):
            out[rows[0] : rows[-1] + 1] = table[luma[rows[0] : rows[-1] + 1]]
        if step is not None:
            step()
    cancel.raise_if_cancelled()
    if options.clahe_clip > 0 and options.strength > 0:
        grid = max(1, min(options.clahe_grid, min(luma.shape) // 8))
        local = cv2.createCLAHE(clipLimit=float(options.clahe_clip), tileGridSize=(grid, grid)).apply(out)
        if options.strength < 1:
            blended = out.astype(np.float32) + options.strength * (local.astype(np.float32) - out)
            local = np.clip(np.round(blended), 0, np.iinfo(luma.dtype).max).astype(luma.dtype)
        out = local
    if step is not None:
        step()
    return out
