"""The restoration pipeline: stages composed over a photo's full-resolution luminance.

``restore_luma(luma, stages, options, progress, cancel)`` runs the named stages (in
``engine.restoration.stages.STAGE_ORDER``: scratches, grain, fading) on ``(H, W)`` uint8 or
uint16 luma and returns a ``RestorationResult``: the restored luma (same shape and dtype) and, when
the scratch stage ran, its mask, so the GUI can show it, let the user paint on it and call
``fill`` (or ``restore_luma(..., mask=edited)``) again. Every stage works in tiles or strips; the
cancel token is checked before each one (a cancel is honoured within one tile, ``Cancelled``), and
``progress`` gets a small frozen ``RestorationStep`` after each.

Undamaged photos come out unchanged: when the detector finds nothing the scratch stage returns the
input bytes, and a run of only that stage gives a byte-identical photo.

``Restorer`` holds the loaded damage detector (load once, call per photo, one thread at a time);
``restore_luma`` without one loads the shipped detector when the scratch stage needs it. Torch is
imported only then: the fading and grain stages need OpenCV and NumPy alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.cancel import CancelToken
from engine.restoration.denoise import denoise, denoise_tiles
from engine.restoration.fill import fill, fill_tiles
from engine.restoration.levels import correct_fading, fading_units
from engine.restoration.stages import STAGE_ORDER, RestorationOptions

if TYPE_CHECKING:
    from engine.restoration.detection import DamageDetector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestorationStep:
    """Progress: ``done`` of ``total`` units of the current ``stage``; ``fraction`` of the whole run."""

    stage: str
    done: int
    total: int
    fraction: float


@dataclass(frozen=True, eq=False)  # eq=False: numpy fields have no single truth value
class RestorationResult:
    """``luma``: the restored ``(H, W)`` luma, the input's dtype; ``mask``: ``(H, W)`` bool, the
    damage the scratch stage filled (None when it did not run); ``stages``: what ran, in order."""

    luma: np.ndarray
    mask: np.ndarray | None
    stages: tuple[str, ...]

    @property
    def damage_found(self) -> bool:
        return self.mask is not None and bool(self.mask.any())


Progress = Callable[[RestorationStep], None]


def check_luma(luma: object) -> None:
    """ValueError unless ``luma`` is a non-empty ``(H, W)`` uint8 or uint16 array."""
    if not (
        isinstance(luma, np.ndarray) and luma.ndim == 2 and luma.dtype in (np.uint8, np.uint16) and min(luma.shape) >= 1
    ):
        raise ValueError(
            f"luma must be a non-empty (H, W) uint8 or uint16 array, got "
            f"{getattr(luma, 'shape', type(luma))} {getattr(luma, 'dtype', '')}"
        )


def check_stages(stages: tuple[str, ...]) -> tuple[str, ...]:
    """``stages`` in ``STAGE_ORDER``; ValueError naming an unknown one."""
    if isinstance(stages, str):
        raise ValueError("stages must be a tuple of names; use parse_stages for text")
    unknown = [name for name in stages if name not in STAGE_ORDER]
    if unknown:
        raise ValueError(f"unknown restoration stage {str(unknown[0])[:40]!r} (known: {', '.join(STAGE_ORDER)})")
    return tuple(name for name in STAGE_ORDER if name in stages)


class _Tracker:
    """Counts units of work across stages and reports each one."""

    def __init__(self, units: dict[str, int], progress: Progress | None) -> None:
        self._units = units
        self._total = max(1, sum(units.values()))
        self._done_before = 0
        self._progress = progress
        self._stage = ""
        self._done = 0

    def start(self, stage: str) -> Callable[[], None]:
        if self._stage:
            self._done_before += self._units[self._stage]
        self._stage, self._done = stage, 0
        return self.step

    def step(self) -> None:
        self._done += 1
        if self._progress is not None:
            stage_total = self._units[self._stage]
            fraction = min(1.0, (self._done_before + min(self._done, stage_total)) / self._total)
            self._progress(RestorationStep(self._stage, self._done, stage_total, fraction))


class Restorer:
    """The restoration stages with a loaded damage detector (or none, until the scratch stage
    needs one). Not thread-safe: one thread calls it."""

    def __init__(self, detector: DamageDetector | None = None, detector_path: Path | None = None) -> None:
        self._detector = detector
        self._detector_path = detector_path

    @property
    def detector(self) -> DamageDetector:
        """The damage detector, loaded on first use (ModelFileError when it cannot be)."""
        if self._detector is None:
            from engine.restoration.detection import DamageDetector

            self._detector = DamageDetector.load(self._detector_path)
        return self._detector

    def detect(
        self,
        luma: np.ndarray,
        options: RestorationOptions | None = None,
        cancel: CancelToken | None = None,
        step: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """The damage mask ``(H, W)`` bool of ``luma`` (what the scratch stage would fill)."""
        check_luma(luma)
        return self.detector.detect(luma, (options or RestorationOptions()).scratches, cancel, step)

    def restore(
        self,
        luma: np.ndarray,
        stages: tuple[str, ...],
        options: RestorationOptions | None = None,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
        *,
        mask: np.ndarray | None = None,
    ) -> RestorationResult:
        """Run ``stages`` on ``luma`` (see the module docstring). ``mask`` ``(H, W)`` bool, when
        given, is filled instead of detecting damage (the GUI's edited mask)."""
        check_luma(luma)
        order = check_stages(stages)
        options = options or RestorationOptions()
        cancel = cancel or CancelToken()
        height, width = luma.shape
        tile = options.tile_size
        units: dict[str, int] = {}
        if "scratches" in order:
            finding = 0 if mask is not None else self.detector.units(height, width, options.scratches)
            units["scratches"] = finding + fill_tiles(height, width, tile)
        if "grain" in order:
            units["grain"] = denoise_tiles(height, width, tile)
        if "fading" in order:
            units["fading"] = fading_units()
        tracker = _Tracker(units, progress)
        current = luma
        found: np.ndarray | None = None
        for stage in order:
            step = tracker.start(stage)
            cancel.raise_if_cancelled()
            if stage == "scratches":
                found = mask if mask is not None else self.detector.detect(current, options.scratches, cancel, step)
                current = fill(
                    current,
                    found,
                    options.scratches.method,
                    options.scratches.radius,
                    tile=tile,
                    cancel=cancel,
                    step=step,
                )
                found = found.astype(bool, copy=False)
            elif stage == "grain":
                current = denoise(current, options.grain, tile=tile, cancel=cancel, step=step)
            elif stage == "fading":
                current = correct_fading(current, options.fading, cancel, step)
        if current is luma:
            current = luma.copy()
        return RestorationResult(current, found, order)


def restore_luma(
    luma: np.ndarray,
    stages: tuple[str, ...],
    options: RestorationOptions | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    *,
    mask: np.ndarray | None = None,
    restorer: Restorer | None = None,
) -> RestorationResult:
    """Restore ``luma`` ``(H, W)`` uint8/uint16 with ``stages`` (names, see ``parse_stages``);
    ``restorer`` (a loaded detector) is made when not given. Raises Cancelled when ``cancel`` is
    set, ValueError for bad input, ModelFileError when the detector cannot be loaded."""
    return (restorer or Restorer()).restore(luma, stages, options, progress, cancel, mask=mask)
