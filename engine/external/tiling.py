"""Tiles for running a model over a large image in bounded memory.

The image is cut into core tiles that partition it exactly (of near-equal size, no sliver at the
edge); each is run with ``context`` extra pixels of the image around it (fewer at the image's
border) and only its core is kept. With context wider than the seam a convolutional network can
see across, cores join without visible seams, and no full-size float buffer is ever needed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    """Pixel boxes ``(x0, y0, x1, y1)``, end exclusive: ``core`` is kept, ``window`` is run."""

    core: tuple[int, int, int, int]
    window: tuple[int, int, int, int]

    @property
    def core_in_window(self) -> tuple[int, int, int, int]:
        """The core box in the window's own coordinates."""
        x0, y0, x1, y1 = self.core
        wx, wy = self.window[:2]
        return x0 - wx, y0 - wy, x1 - wx, y1 - wy


def _cuts(length: int, tile: int) -> list[int]:
    count = max(1, math.ceil(length / tile))
    return [round(i * length / count) for i in range(count + 1)]


def plan_tiles(width: int, height: int, tile: int, context: int) -> list[Tile]:
    """Tiles covering a ``width`` x ``height`` image, row by row: cores at most ``tile`` on a side,
    windows at most ``tile + 2 * context``. ValueError for sizes that make no sense."""
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if tile < 8:
        raise ValueError(f"tile size must be at least 8 pixels, got {tile}")
    if context < 0:
        raise ValueError(f"tile context must not be negative, got {context}")
    xs, ys = _cuts(width, tile), _cuts(height, tile)
    tiles = []
    for y0, y1 in itertools.pairwise(ys):
        for x0, x1 in itertools.pairwise(xs):
            window = (max(0, x0 - context), max(0, y0 - context), min(width, x1 + context), min(height, y1 + context))
            tiles.append(Tile((x0, y0, x1, y1), window))
    return tiles
