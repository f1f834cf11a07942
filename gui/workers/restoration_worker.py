"""The restoration worker: finds and fills a photo's damage on the app's one inference thread.

A thin adapter over ``engine.restoration.pipeline.Restorer``, moved to the inference thread (as the
hint preview is: the device runs one job at a time, so this never gets a thread of its own). The
GUI sends ``RestorationJob``s through a queued signal; the worker reports plain frozen data
(``gui.models.restoration_choice``): throttled progress, the damage found, the restored photo, a
failure or a cancel. Cancelling never goes through the queue: the GUI sets the job's
``CancelToken`` and the engine sees it before its next tile.

A job sent while the thread colorizes the list or runs a batch waits for that work to finish.
The detector loads on first use, on this thread (torch is imported then, not at import).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine.errors import Cancelled, ReviveError, describe_error
from gui.models.restoration_choice import (
    DETECT,
    AppliedRestoration,
    DamageFound,
    PhotoRestored,
    RestorationFailure,
    RestorationJob,
    RestorationProgress,
)
from gui.workers.restoration_steps import display_gray, save_luma

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05  # progress reaches the GUI at most this often
LANE_JOB = "repairing a photo"  # what holds the device, as people read it


class RestorationWorker(QObject):
    progressed = Signal(object)  # RestorationProgress
    damage_found = Signal(object)  # DamageFound
    photo_restored = Signal(object)  # PhotoRestored
    failed = Signal(object)  # RestorationFailure
    cancelled = Signal(object)  # RestorationJob's (source, serial) as RestorationProgress

    def __init__(self, restorer=None) -> None:
        """``restorer``: an ``engine.restoration.pipeline.Restorer`` (tests give one with a tiny
        detector); None makes one with the shipped detector on first use."""
        super().__init__()
        self.restorer = restorer
        self._photo: tuple[Path, float, np.ndarray] | None = None  # the last photo read: path, mtime, luma
        # The app's device lane (``Controller.lane``, where there is one): a job holds it while it
        # runs, so it takes its turn with colorizing and training. Set before the thread starts.
        self.lane = None

    @Slot(object)
    def run(self, job: RestorationJob) -> None:
        """Find or fill ``job``'s damage; exactly one of damage_found, photo_restored, failed or
        cancelled follows (cancelled also when it was cancelled while waiting for the device)."""
        if self.lane is None:
            self._run(job)
            return
        with self.lane.hold(LANE_JOB, lambda: job.cancel.cancelled) as granted:
            if granted:
                self._run(job)
                return
        self.cancelled.emit(RestorationProgress(job.source, job.serial, "", 0.0))

    def _run(self, job: RestorationJob) -> None:
        started = time.monotonic()
        last = [0.0]

        def report(stage: str, fraction: float, force: bool = False) -> None:
            now = time.monotonic()
            if force or now - last[0] >= PROGRESS_INTERVAL_S:
                last[0] = now
                self.progressed.emit(RestorationProgress(job.source, job.serial, stage, fraction))

        try:
            job.cancel.raise_if_cancelled()
            report("", 0.0, force=True)
            luma = self._luma(job.source)
            restorer = self._restorer()
            if job.kind == DETECT:
                options = job.choice.options()
                units = max(1, restorer.detector.units(*luma.shape, options.scratches))
                done = [0]

                def step() -> None:
                    done[0] += 1
                    report("scratches", min(1.0, done[0] / units))

                mask = restorer.detect(luma, options, job.cancel, step)
                report("scratches", 1.0, force=True)
                self.damage_found.emit(DamageFound(job.source, job.serial, mask))
                return
            stages, options = job.choice.request()  # as colorize --restore makes them
            mask = job.mask if "scratches" in stages else None
            result = restorer.restore(
                luma,
                stages,
                options,
                lambda s: report(s.stage, s.fraction),
                job.cancel,
                mask=None if mask is None else mask.astype(bool, copy=False),
            )
            job.cancel.raise_if_cancelled()
            save_luma(job.output, result.luma)
            height, width = result.luma.shape
            applied = AppliedRestoration(job.choice, job.output, (width, height))
            report("", 1.0, force=True)
            self.photo_restored.emit(
                PhotoRestored(
                    job.source,
                    job.serial,
                    display_gray(result.luma),
                    result.mask,
                    applied,
                    time.monotonic() - started,
                )
            )
        except Cancelled:
            self.cancelled.emit(RestorationProgress(job.source, job.serial, "", 0.0))
        except Exception as error:  # reported to the panel; the thread goes on
            if not isinstance(error, ReviveError):
                log.error("restoring %s failed", job.source, exc_info=error)
            self.failed.emit(RestorationFailure(job.source, job.serial, describe_error(error)))

    def _restorer(self):
        if self.restorer is None:
            from engine.restoration.pipeline import Restorer

            self.restorer = Restorer()
        return self.restorer

    def _luma(self, source: Path) -> np.ndarray:
        """The photo's full-resolution luma, read again only when it is another photo or changed."""
        mtime = source.stat().st_mtime
        if self._photo is not None and self._photo[0] == source and self._photo[1] == mtime:
            return self._photo[2]
        from engine.imaging import read_photo

        self._photo = None  # let go of the last one before reading the next
        luma = read_photo(source).luma
        self._photo = (source, mtime, luma)
        return luma
