"""A first look at a photo added to the list: its thumbnail, whether it is already in colour, and
the hints the user saved for it.

Runs on the background pool (a reduced-scale decode: milliseconds; finding saved hints hashes the
file, tens of milliseconds for a large scan, and only when some were ever saved). A photo in
colour is not colorized without asking (``gui.models.photo_session.ColourChoice``): re-colouring it from
its gray tones would replace its real colours. Plain numpy/Pillow, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.hints.schema import PhotoHints, ReferenceStats, reference_stats
from engine.hints.store import HintStore
from engine.imaging import read_preview_rgb
from engine.imaging.tint import classify
from gui.models.photo_session import any_saved_hints

INSPECT_SIDE = 128  # the thumbnail's long side (the list shows it at half that)


@dataclass(frozen=True)
class PhotoLook:
    thumbnail: np.ndarray  # (h, w, 3) uint8 sRGB, long side at most INSPECT_SIDE
    kind: str  # "gray", "tinted" (sepia, toned) or "colour"
    reference: ReferenceStats | None  # its own a*b* statistics, for a colour photo (to restore it)
    saved_hints: PhotoHints | None = None  # what the user said about its colours, in an earlier session


def inspect_photo(source: Path, store: HintStore | None = None) -> PhotoLook:
    """Thumbnail, kind and saved hints (from ``store``) of ``source``; UnsupportedImage when it
    is not a photo Revive reads."""
    thumbnail = read_preview_rgb(source, INSPECT_SIDE)
    kind, _ = classify(thumbnail)
    reference = reference_stats(thumbnail) if kind == "colour" else None
    saved = store.hints_for(source) if any_saved_hints(store) else None
    return PhotoLook(thumbnail, kind, reference, saved)
