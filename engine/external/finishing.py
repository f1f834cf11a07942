"""Finishing a colorized photo with external models: upscaling, then faces. For the batch runner.

``Finishing.apply`` takes what ``merge_chroma`` returns plus the photo's alpha and metadata and
gives back all three at the output size: alpha is resized with the photo, and the DPI multiplied
by the scale so the print size stays the same. Upscaling comes first so that faces are restored
at the larger size (a restored 512 px face pasted into a small photo and then upscaled would lose
the detail the face model gave it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from PIL import Image

from engine.cancel import CancelToken
from engine.external.faces import FaceRestorer
from engine.external.upscaling import Upscaler
from engine.imaging import PhotoMetadata


@dataclasses.dataclass(frozen=True, eq=False)
class Finished:
    """``rgb`` ``(H', W', 3)``, ``alpha`` ``(H', W')`` or None (same dtype as given), and metadata."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    metadata: PhotoMetadata


def resize_alpha(alpha: np.ndarray, width: int, height: int) -> np.ndarray:
    """An alpha plane ``(H, W)`` uint8/uint16 resized to ``width`` x ``height`` (bicubic, same dtype)."""
    if alpha.shape == (height, width):
        return alpha
    if alpha.dtype == np.uint8:
        return np.asarray(Image.fromarray(alpha).resize((width, height), Image.Resampling.BICUBIC))
    plane = Image.fromarray(alpha.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(plane).clip(0, 65535).round().astype(np.uint16)


class Finishing:
    """The finishing models chosen for a batch: either may be None. Not thread-safe."""

    def __init__(self, upscaler: Upscaler | None = None, faces: FaceRestorer | None = None):
        self.upscaler = upscaler
        self.faces = faces

    @classmethod
    def load(
        cls, upscale: str | None = None, faces: str | None = None, device: str = "cpu", precision: str = "auto"
    ) -> Finishing:
        """Load the named (or path-given) upscaler and face model; None skips that step."""
        return cls(
            Upscaler.load(upscale, device, precision) if upscale else None,
            FaceRestorer.load(faces, device, precision) if faces else None,
        )

    @property
    def active(self) -> bool:
        return self.upscaler is not None or self.faces is not None

    @property
    def description(self) -> str:
        """For the command line and the report: ``upscaled x4 by NAME, faces by NAME``."""
        parts = []
        if self.upscaler is not None:
            parts.append(f"upscaled x{self.upscaler.scale} by {self.upscaler.card.name}")
        if self.faces is not None:
            parts.append(f"faces by {self.faces.card.name}")
        return ", ".join(parts)

    def apply(
        self,
        rgb: np.ndarray,
        alpha: np.ndarray | None,
        metadata: PhotoMetadata,
        cancel: CancelToken | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Finished:
        """Upscale (tile by tile, ``progress(done, total)`` after each, ``cancel`` checked before each),
        then restore faces."""
        if self.upscaler is not None:
            rgb = self.upscaler.upscale(rgb, progress, cancel)
            height, width = rgb.shape[:2]
            if alpha is not None:
                alpha = resize_alpha(alpha, width, height)
            if metadata.dpi is not None:
                s = self.upscaler.scale
                metadata = dataclasses.replace(metadata, dpi=(metadata.dpi[0] * s, metadata.dpi[1] * s))
        if self.faces is not None:
            if cancel is not None:
                cancel.raise_if_cancelled()
            rgb = self.faces.apply_faces(rgb)
        return Finished(rgb, alpha, metadata)
