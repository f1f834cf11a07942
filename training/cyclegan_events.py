"""Events of CycleGAN training beyond the shared ones in ``training.events``. Frozen, plain data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PreviewReady:
    """The held-out old photos colorized by the current G.

    ``images``: (file name, before ``(h, w, 3)`` uint8 sRGB, after ``(h, w, 3)`` uint8 sRGB) per photo;
    fresh arrays the trainer never touches again (safe to hand to another thread). ``base`` is true for
    the first preview of a fresh run (step 0: the base model before any fine-tuning).
    """

    step: int
    images: tuple[tuple[str, np.ndarray, np.ndarray], ...]
    base: bool = False
