"""Grain and noise: non-local means on the luminance, with its strength set by the noise it finds.

Non-local means (Buades, Coll and Morel 2005, "A non-local algorithm for image denoising"; OpenCV's
``fastNlMeansDenoising``) replaces each pixel by an average of pixels whose surrounding patches
look alike, so grain goes and edges stay. Its filter parameter ``h`` must follow the noise: too
small leaves the grain, too large paints the photo flat. The noise is measured in the photo by the
Laplacian-difference estimate of Immerkaer 1996 ("Fast noise variance estimation"): the kernel
[[1, -2, 1], [-2, 4, -2], [1, -2, 1]] cancels smooth tones and lines, leaving 6 sigma of noise;
the median of its magnitude (instead of Immerkaer's mean) keeps edges and texture from inflating
it. Then h = 2 x strength x h_per_sigma x sigma, in 8-bit levels.

16-bit luma is filtered in 16 bits (OpenCV needs the L1 patch distance there). For Gaussian noise
the L1 weight exp(-(mean |d|)^2 / h^2) matches the L2 weight exp(-mean(d^2) / h^2) when
h_L1 = h_L2 x sqrt(2 / pi) (E|d| = sqrt(2 / pi) sd(d)), so the two depths filter alike.

Tiles carry half a search window plus half a patch of context: inside the photo, the tiled result
equals the one-pass result exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from engine.cancel import CancelToken
from engine.restoration.stages import GrainOptions
from engine.restoration.tiling import Tile, map_tiles, tile_count

NOISE_SAMPLE = 1024  # the noise is measured on up to 4 crops of this side (a 12-MP photo: 0.1 s)
MIN_SIGMA = 0.4  # 8-bit levels: below this there is nothing to remove (8-bit rounding alone is 0.29)
_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_L1_FACTOR = math.sqrt(2.0 / math.pi)


def estimate_noise(luma: np.ndarray) -> float:
    """The standard deviation of the noise in ``luma`` ``(H, W)`` uint8/uint16, in 8-bit levels
    (0..255 scale whatever the dtype)."""
    scale = 255.0 / (255 if luma.dtype == np.uint8 else 65535)
    h, w = luma.shape
    if h < 3 or w < 3:
        return 0.0
    crops = []
    side = NOISE_SAMPLE
    if h * w <= 4 * side * side:
        crops.append(luma)
    else:
        for fy in (0.25, 0.75):
            for fx in (0.25, 0.75):
                y = min(max(0, int(fy * h) - side // 2), max(0, h - side))
                x = min(max(0, int(fx * w) - side // 2), max(0, w - side))
                crops.append(luma[y : y + side, x : x + side])
    responses = [
        np.abs(cv2.filter2D(c.astype(np.float32), -1, _KERNEL, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1])
        for c in crops
    ]
    median = float(np.median(np.concatenate([r.ravel() for r in responses])))
    return median / (0.6745 * 6.0) * scale  # the median of |N(0, s)| is 0.6745 s; the kernel gives 6 sigma


def filter_strength(sigma: float, options: GrainOptions) -> float:
    """NLM's h in 8-bit levels for a photo of noise ``sigma`` (0 when there is nothing to do)."""
    if sigma < MIN_SIGMA or options.strength <= 0:
        return 0.0
    return 2.0 * options.strength * options.h_per_sigma * sigma


def denoise_tiles(height: int, width: int, tile: int) -> int:
    """How many units of work ``denoise`` reports for a photo of this size."""
    return tile_count(height, width, tile)


def denoise(
    luma: np.ndarray,
    options: GrainOptions,
    *,
    tile: int = 1024,
    cancel: CancelToken | None = None,
    step: Callable[[], None] | None = None,
    h: float | None = None,
) -> np.ndarray:
    """``luma`` ``(H, W)`` uint8/uint16 with grain and noise reduced (same shape and dtype, a new
    array). ``h`` (8-bit levels) overrides the strength chosen from the measured noise; an h of 0
    (a clean photo, strength 0) gives an unchanged copy. Cancelled (``cancel``) between tiles."""
    cancel = cancel or CancelToken()
    cancel.raise_if_cancelled()
    if h is None:
        h = filter_strength(estimate_noise(luma), options)
    if h <= 0:
        if step is not None:
            height, width = luma.shape
            for _ in range(denoise_tiles(height, width, tile)):
                step()
        return luma.copy()
    context = options.search // 2 + options.template // 2

    if luma.dtype == np.uint8:

        def one(piece: np.ndarray, where: Tile) -> np.ndarray:
            return cv2.fastNlMeansDenoising(
                np.ascontiguousarray(piece), None, float(h), options.template, options.search
            )
    else:
        h16 = [float(h * 257.0 * _L1_FACTOR)]

        def one(piece: np.ndarray, where: Tile) -> np.ndarray:
            return cv2.fastNlMeansDenoising(
                np.ascontiguousarray(piece), h16, None, options.template, options.search, cv2.NORM_L1
            )

    return map_tiles(luma, one, tile, context, cancel, step=step)
