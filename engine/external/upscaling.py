"""Upscaling (and 1x restoration) with an external image-to-image model, tile by tile.

Contract of ``Upscaler.upscale``: ``(H, W, 3)`` sRGB or ``(H, W)`` gray, uint8 or uint16,
gamma-encoded -> the same layout and dtype at ``(H * scale, W * scale)``. The model sees ``(1, C,
h, w)`` in [0, 1] (spandrel's call contract; spandrel pads to the model's size requirements) and
returns ``(1, C', h * scale, w * scale)`` in [0, 1]. Memory stays bounded by the tile size: the
only full-size array is the output itself. The cancel token is checked before every tile, and
``progress(done, total)`` is called after each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from engine.cancel import CancelToken
from engine.errors import UnsupportedImage
from engine.external.runtime import LoadedModel, check_image, from_tensor, load_external, running, to_tensor
from engine.external.tiling import plan_tiles
from engine.imaging.photo import MAX_PIXELS

log = logging.getLogger(__name__)

DEFAULT_TILE = 256  # input pixels per tile side: a 4x model's 1024 px output tile stays a few hundred MB
DEFAULT_CONTEXT = 16  # extra input pixels around a tile; Real-ESRGAN's own tiled inference uses 10
TASKS = ("upscaling", "restoration")

Progress = Callable[[int, int], None]


class Upscaler:
    """A loaded upscaling or restoration model. Not thread-safe: one thread calls it."""

    def __init__(self, loaded: LoadedModel, tile: int = DEFAULT_TILE, context: int = DEFAULT_CONTEXT):
        if tile < 8 or context < 0:
            raise ValueError(f"tile must be at least 8 and context at least 0, got {tile} and {context}")
        self.loaded = loaded
        self.card = loaded.card
        self.device = loaded.device
        self.path: Path = loaded.path
        self.warnings = loaded.warnings
        self.tile = tile
        self.context = context

    @classmethod
    def load(
        cls, name_or_path: str | Path, device: str = "cpu", precision: str = "auto", tile: int = DEFAULT_TILE
    ) -> Upscaler:
        """Load an added model by name, or a model file by path, for upscaling or restoration."""
        return cls(load_external(name_or_path, TASKS, "an upscaler", device, precision), tile)

    @property
    def scale(self) -> int:
        return self.card.scale

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        return width * self.scale, height * self.scale

    @torch.inference_mode()
    def upscale(
        self, image: np.ndarray, progress: Progress | None = None, cancel: CancelToken | None = None
    ) -> np.ndarray:
        """``image`` at ``scale`` times its size (see the module's contract). Cancelled when ``cancel``
        is set (checked before each tile); OutOfMemory names the fix; UnsupportedImage for a bad array."""
        check_image(image)
        gray = image.ndim == 2
        height, width = image.shape[:2]
        s = self.scale
        if width * s * height * s > MAX_PIXELS:  # refused before the work: Revive could not read it back
            raise UnsupportedImage(
                f"upscaled x{s} it would be {width * s} x {height * s}, over the {MAX_PIXELS // 1_000_000}-megapixel"
                " limit: use an upscaler of a smaller scale, or none"
            )
        out = np.empty((height * s, width * s) if gray else (height * s, width * s, 3), image.dtype)
        tiles = plan_tiles(width, height, self.tile, self.context)
        descriptor, loaded = self.loaded.descriptor, self.loaded
        for done, tile in enumerate(tiles):
            if cancel is not None:
                cancel.raise_if_cancelled()
            wx0, wy0, wx1, wy1 = tile.window
            x = to_tensor(image[wy0:wy1, wx0:wx1], self.card.input_channels, loaded.device.device)
            with running(loaded, f"a {wx1 - wx0}x{wy1 - wy0} tile", "a smaller tile"):
                y = descriptor(x)
            cx0, cy0, cx1, cy1 = tile.core_in_window
            y = y[..., cy0 * s : cy1 * s, cx0 * s : cx1 * s]
            x0, y0, x1, y1 = tile.core
            out[y0 * s : y1 * s, x0 * s : x1 * s] = from_tensor(y, image.dtype, gray)
            if progress is not None:
                progress(done + 1, len(tiles))
        return out
