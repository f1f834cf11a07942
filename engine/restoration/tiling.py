"""Tiles for full-resolution work: a grid with overlap, and a loop over it that reports and cancels.

A stage that looks at a neighbourhood (a filter's search window, a network's receptive field, an
inpainting radius) reads each tile with ``overlap`` pixels of context on every side and writes
only the tile's own part, so the seams are invisible and the result equals the whole-photo one
wherever the context covers the neighbourhood. Memory stays bounded by the tile, not the photo.

``map_tiles`` checks the cancel token before every tile: a cancel is honoured within one tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.cancel import CancelToken


@dataclass(frozen=True)
class Tile:
    """``outer``: rows and columns read (with context); ``inner``: the ones written, in photo
    coordinates; ``crop``: ``inner`` relative to ``outer``."""

    outer: tuple[slice, slice]
    inner: tuple[slice, slice]
    crop: tuple[slice, slice]


def _spans(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    spans = []
    for start in range(0, length, tile):
        stop = min(length, start + tile)
        spans.append((max(0, start - overlap), min(length, stop + overlap), start, stop))
    return spans


def tile_grid(height: int, width: int, tile: int, overlap: int) -> tuple[Tile, ...]:
    """Tiles of side ``tile`` covering a ``height`` x ``width`` photo, row by row."""
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be at least 1 and overlap at least 0, got {tile} and {overlap}")
    tiles = []
    for y0, y1, iy0, iy1 in _spans(height, tile, overlap):
        for x0, x1, ix0, ix1 in _spans(width, tile, overlap):
            tiles.append(
                Tile(
                    (slice(y0, y1), slice(x0, x1)),
                    (slice(iy0, iy1), slice(ix0, ix1)),
                    (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0)),
                )
            )
    return tuple(tiles)


def tile_count(height: int, width: int, tile: int) -> int:
    return -(-height // tile) * -(-width // tile)


def map_tiles(
    image: np.ndarray,
    function: Callable[[np.ndarray, Tile], np.ndarray | None],
    tile: int,
    overlap: int,
    cancel: CancelToken,
    *,
    step: Callable[[], None] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``function(image[t.outer], t)`` for every tile ``t``, its ``crop`` written into ``out`` at
    ``inner`` (``out`` defaults to a copy of ``image``; a function returning None leaves the tile
    as it is there). ``step()`` after each tile; Cancelled (``cancel``) before any tile."""
    result = image.copy() if out is None else out
    for piece in tile_grid(image.shape[0], image.shape[1], tile, overlap):
        cancel.raise_if_cancelled()
        value = function(image[piece.outer], piece)
        if value is not None:
            result[piece.inner] = value[piece.crop]
        if step is not None:
            step()
    return result
