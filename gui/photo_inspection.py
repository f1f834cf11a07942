"""A first look at a photo added to the list: its thumbnail and whether it is already in colour.

Runs on the background pool (a reduced-scale decode: milliseconds). A photo in colour is not
colorized without asking (``gui.photo_session.ColourChoice``): re-colouring it from its gray tones
would replace its real colours. Plain numpy/Pillow, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.hints import ReferenceStats, reference_stats
from engine.imaging import read_preview_rgb
from training.dataset_check import classify

INSPECT_SIDE = 128  # the thumbnail's long side (the list shows it at half that)


@dataclass(frozen=True)
class PhotoLook:
    thumbnail: np.ndarray  # (h, w, 3) uint8 sRGB, long side at most INSPECT_SIDE
    kind: str  # "gray", "tinted" (sepia, toned) or "colour"
    reference: ReferenceStats | None  # its own a*b* statistics, for a colour photo (to restore it)


def inspect_photo(source: Path) -> PhotoLook:
    """Thumbnail and kind of ``source``; UnsupportedImage when it is not a photo Revive reads."""
    thumbnail = read_preview_rgb(source, INSPECT_SIDE)
    kind, _ = classify(thumbnail)
    reference = reference_stats(thumbnail) if kind == "colour" else None
    return PhotoLook(thumbnail, kind, reference)
