"""Keeping a restored window on the screen it opens on: plain arithmetic, no Qt.

A window saved on a large monitor, or before the display scaling changed (1.5x turns a 1600x1000
screen into 1067x667 logical pixels), must not come back larger than the screen or beyond its
edge.
"""

from __future__ import annotations

Rect = tuple[int, int, int, int]  # x, y, width, height

MARGIN = 0  # pixels kept free at the screen's edges


def clamp_to_screen(window: Rect, available: Rect, minimum: tuple[int, int] = (1, 1)) -> Rect:
    """``window`` (its frame) shrunk to fit ``available`` (never below ``minimum`` unless the
    screen itself is smaller) and moved so that it lies inside it."""
    x, y, width, height = window
    ax, ay, aw, ah = available
    width = max(min(minimum[0], aw), min(width, aw - 2 * MARGIN))
    height = max(min(minimum[1], ah), min(height, ah - 2 * MARGIN))
    x = max(ax + MARGIN, min(x, ax + aw - MARGIN - width))
    y = max(ay + MARGIN, min(y, ay + ah - MARGIN - height))
    return x, y, width, height
