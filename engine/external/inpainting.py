"""Inpainting with an external model (LaMa, MAT): fill the masked pixels of a photo.

Contract of ``Inpainter.fill``: ``image`` ``(H, W, 3)`` sRGB or ``(H, W)`` gray, uint8 or uint16,
gamma-encoded; ``mask`` ``(H, W)`` bool or integer, non-zero where the photo is to be filled (a
scratch, a tear). Returns the same layout and dtype, equal to ``image`` exactly wherever the mask
is zero. The model sees ``(1, 3, h, w)`` in [0, 1] and a ``(1, 1, h, w)`` 0/1 mask (spandrel's
contract).

Full resolution, tiled: only windows whose core holds masked pixels are run, each with context
around it, so thin scratches across a 6000 px scan cost a few windows, and nothing is ever
downscaled (a downscaled fill would be blurry next to the sharp photo). MAT needs 512 px square
windows; LaMa's are at most that size too (its Fourier convolutions see the whole window).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from engine.cancel import CancelToken
from engine.errors import UnsupportedImage
from engine.external.runtime import LoadedModel, check_image, from_tensor, load_external, running, to_tensor
from engine.external.tiling import plan_tiles
from engine.external.upscaling import Progress

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 512  # pixels a window holds at most (MAT's fixed input size)
DEFAULT_CONTEXT = 96  # pixels of photo around each core: the model fills from what it sees


class Inpainter:
    """A loaded inpainting model. Not thread-safe: one thread calls it."""

    def __init__(self, loaded: LoadedModel, window: int = DEFAULT_WINDOW, context: int = DEFAULT_CONTEXT):
        if window - 2 * context < 16:
            raise ValueError(f"window {window} leaves no core with context {context}")
        self.loaded = loaded
        self.card = loaded.card
        self.device = loaded.device
        self.path: Path = loaded.path
        self.warnings = loaded.warnings
        self.window = window
        self.context = context

    @classmethod
    def load(cls, name_or_path: str | Path, device: str = "cpu", precision: str = "auto") -> Inpainter:
        """Load an added inpainting model by name, or a model file by path."""
        return cls(load_external(name_or_path, ("inpainting",), "an inpainting model", device, precision))

    @torch.inference_mode()
    def fill(
        self, image: np.ndarray, mask: np.ndarray, progress: Progress | None = None, cancel: CancelToken | None = None
    ) -> np.ndarray:
        """``image`` with its masked pixels filled (see the module's contract)."""
        check_image(image)
        if (
            not isinstance(mask, np.ndarray)
            or mask.shape != image.shape[:2]
            or not (mask.dtype == np.bool_ or np.issubdtype(mask.dtype, np.integer))
        ):
            raise UnsupportedImage(
                f"the mask must be a {image.shape[:2]} bool or integer array, got "
                f"{getattr(mask, 'shape', None)} {getattr(mask, 'dtype', type(mask).__name__)}"
            )
        holes = mask != 0
        out = image.copy()
        if not holes.any():
            return out
        gray = image.ndim == 2
        height, width = holes.shape
        tiles = [
            t
            for t in plan_tiles(width, height, self.window - 2 * self.context, self.context)
            if holes[t.core[1] : t.core[3], t.core[0] : t.core[2]].any()
        ]
        loaded = self.loaded
        for done, tile in enumerate(tiles):
            if cancel is not None:
                cancel.raise_if_cancelled()
            wx0, wy0, wx1, wy1 = tile.window
            x = to_tensor(image[wy0:wy1, wx0:wx1], 3, loaded.device.device)
            m = torch.from_numpy(holes[wy0:wy1, wx0:wx1]).to(loaded.device.device, torch.float32)[None, None]
            with running(loaded, f"a {wx1 - wx0}x{wy1 - wy0} window", "a smaller window"):
                y = loaded.descriptor(x, m)
            cx0, cy0, cx1, cy1 = tile.core_in_window
            filled = from_tensor(y[..., cy0:cy1, cx0:cx1], image.dtype, gray)
            x0, y0, x1, y1 = tile.core
            core_holes = holes[y0:y1, x0:x1]
            out[y0:y1, x0:x1][core_holes] = filled[core_holes]
            if progress is not None:
                progress(done + 1, len(tiles))
        return out
