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


@dataclass(frozen=True)
class HoldoutScored:
    """Base and fine-tuned G scored on the held-out colour photos (``training.cyclegan.scores``).

    ``base``, ``tuned``: ``engine.metrics.summarize`` dicts (``psnr``, ``ciede2000``,
    ``mean_a_error``, ``mean_b_error``, ``better_than_gray``, the gray copy's ``gray_*``...) of the
    base model and of G at ``step``; ``better``: G at ``step`` beats the base
    (``cyclegan_scores.beats``); ``best_step`` is the step whose G would be installed (None: no step
    beats the base so far) and ``best`` its summary; ``photos`` how many photos were scored.
    """

    step: int
    base: dict[str, float]
    tuned: dict[str, float]
    better: bool
    best_step: int | None
    best: dict[str, float] | None
    photos: int
