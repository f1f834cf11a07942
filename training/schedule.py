"""The learning-rate schedule of the base colorizer's and the damage detector's training."""

from __future__ import annotations

import math

WARMUP_STEPS = 100


def warmup_cosine(step: int, total: int, floor: float) -> float:
    """Linear warm-up over WARMUP_STEPS, then cosine decay to ``floor`` (a share of the peak) at
    ``total``. A function of the step, so a resumed run continues the same schedule."""
    if step < WARMUP_STEPS:
        return (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, total - WARMUP_STEPS)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
