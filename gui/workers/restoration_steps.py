"""Restoration in the app's colorizing paths, without Qt: the batch's ``Repair`` made from the
panel's choice (as ``colorize --restore`` makes it), and a photo colorized from its restored luma.

Used on the inference thread (``InferenceWorker.run_batch``, ``gui.workers.review_pipeline``) and
by ``gui.workers.restoration_worker``. torch is imported only when the damage detector loads.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from engine.errors import ReviveError
from engine.imaging import Photo
from gui.models.jobs import DISPLAY_MAX_SIDE
from gui.models.restoration_choice import AppliedRestoration, RestorationChoice
from gui.workers.display_images import save_cached, to_display


class RestoredLumaMissing(ReviveError):
    """The restored luma of a photo is gone or does not fit the photo any more."""


def batch_repair(choice: RestorationChoice | None, restorer=None):
    """The ``engine.batch.steps.Repair`` for ``choice`` (None when no stage is on), as the
    ``colorize --restore`` command makes it: the damage detector is loaded now, so a missing or
    damaged one stops the batch before its first photo (``ModelFileError``)."""
    if choice is None or choice.is_empty:
        return None
    from engine.batch.steps import Repair
    from engine.restoration.pipeline import Restorer

    stages, options = choice.request()
    restorer = restorer or Restorer()
    if "scratches" in stages:
        restorer.detector  # noqa: B018 - loads it (ModelFileError in one line if it cannot be)
    return Repair(stages, options, restorer)


def with_restored_luma(photo: Photo, applied: AppliedRestoration | None) -> Photo:
    """``photo`` with the restored luma of ``applied`` (unchanged without one): colour is then
    predicted from, and merged with, the repaired photo. RestoredLumaMissing when the file is gone
    or no longer fits the photo (it was replaced on disk)."""
    if applied is None:
        return photo
    try:
        luma = np.load(applied.luma_path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise RestoredLumaMissing(f"its restoration is gone ({error}): apply the restoration again") from None
    if luma.shape != photo.luma.shape or luma.dtype != photo.luma.dtype:
        raise RestoredLumaMissing("the photo changed on disk since it was restored: apply the restoration again")
    luma.flags.writeable = False
    return dataclasses.replace(photo, luma=luma)


def save_luma(path: Path, luma: np.ndarray) -> Path:
    """Keep a restored ``(H, W)`` luma for colorizing (``.npy``, exact, atomic)."""
    return save_cached(path, luma)


def display_gray(luma: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """``(H, W)`` uint8/uint16 luma -> ``(h, w, 3)`` uint8 gray sRGB, long side at most ``max_side``."""
    gray = (luma >> 8).astype(np.uint8) if luma.dtype == np.uint16 else luma
    return to_display(np.repeat(np.asarray(gray)[:, :, None], 3, axis=2), max_side)
