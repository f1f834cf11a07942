"""The one rule for what kind of photo a thumbnail shows: gray, tinted or in colour (numpy only).

Used by the reader (``Photo.tinted``), the app (a photo already in colour is not colorized without
asking), the training data (gray or tinted photos are no colour targets) and the dataset check.

- ``gray``: the 95th percentile of per-pixel chroma (max - min of R, G, B, 0..255) is under
  ``GRAY_CHROMA``; JPEG chroma noise in a gray photo reaches about 8;
- ``tinted`` (sepia, cyanotype...): chroma present but the hue nearly constant (the chroma-weighted
  mean resultant length of the hue angle in the opponent plane is at least ``TINT_CONCENTRATION``)
  and the opponent channels a linear function of lightness (residual under ``TINT_RESIDUAL``);
- ``colour``: everything else.

The rule is meant for a thumbnail about 64 pixels across (a reduced-scale decode or a box filter):
at full resolution noise and grain would count as chroma.
"""

from __future__ import annotations

import numpy as np

GRAY_CHROMA = 10.0  # 0..255 levels
TINT_CONCENTRATION = 0.97
TINT_RESIDUAL = 10.0  # 0..255 levels
KINDS = ("gray", "tinted", "colour")


def chroma_p95(rgb: np.ndarray, visible: np.ndarray | None = None) -> float:
    """95th percentile of max - min of R, G, B over ``rgb`` ``(h, w, 3)`` (any numeric dtype, 0..255),
    only where ``visible`` ``(h, w)`` bool is True; 0.0 when no pixel counts."""
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (h, w, 3), got {rgb.shape}")
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    if visible is not None:
        chroma = chroma[visible]
    return float(np.percentile(chroma, 95)) if chroma.size else 0.0


def has_visible_colour(rgb: np.ndarray, visible: np.ndarray | None = None) -> bool:
    """True when a thumbnail is not gray (tinted or in colour): ``classify(rgb)[0] != "gray"``."""
    return chroma_p95(rgb, visible) >= GRAY_CHROMA


def classify(thumbnail: np.ndarray) -> tuple[str, float]:
    """Kind of photo from a thumbnail ``(h, w, 3)`` uint8 sRGB: (``gray``/``tinted``/``colour``, chroma p95)."""
    rgb = thumbnail.astype(np.float32)
    p95 = chroma_p95(rgb)
    if p95 < GRAY_CHROMA:
        return "gray", p95
    r, g, b = rgb[..., 0].ravel(), rgb[..., 1].ravel(), rgb[..., 2].ravel()
    # Opponent plane (red-green, yellow-blue); the hue is the angle, weighted by chroma.
    o1 = r - g
    o2 = 0.5 * (r + g) - b
    total = float(np.hypot(o1, o2).sum())
    concentration = float(np.hypot(o1.sum(), o2.sum()) / total) if total > 0 else 1.0
    if concentration < TINT_CONCENTRATION:
        return "colour", p95
    # One hue can also be a colour photo of one colour (a sunset, a forest); a tint follows the
    # lightness: the opponent channels are a linear function of it, up to a small residual.
    lightness = (r + g + b) / 3.0
    design = np.stack((lightness, np.ones_like(lightness)), axis=1)
    residual = 0.0
    for channel in (o1, o2):
        coefficients, *_ = np.linalg.lstsq(design, channel, rcond=None)
        residual = max(residual, float(np.std(channel - design @ coefficients)))
    return ("tinted" if residual < TINT_RESIDUAL else "colour"), p95
