"""What the restoration panel asks for, as plain data (no Qt, no torch): the stages that are on and
their strengths, the restoration applied to a photo, and the jobs and reports that cross to and
from the inference thread.

The stages, their order, their strength ranges and defaults are the engine's
(``engine.restoration.stages``: ``STAGE_ORDER`` and the strength ``ParameterCard`` of each
``STAGE_CARDS`` entry); nothing here repeats a number. ``RestorationChoice.request()`` turns a
choice into ``(stages, RestorationOptions)`` through the parsers behind ``colorize --restore``
and ``--restore-strength`` (``parse_stages``, ``parse_strengths``), so the app and the command
line restore a photo alike; ``cli_arguments()`` says which options a command would need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.cancel import CancelToken
from engine.restoration.stages import (
    STAGE_CARDS,
    STAGE_ORDER,
    ParameterCard,
    RestorationOptions,
    parse_stages,
    parse_strengths,
)

DETECT = "detect"  # a job that finds the damage only (the mask to show and edit)
RESTORE = "restore"  # a job that runs the chosen stages (filling the given mask)


def strength_card(stage: str) -> ParameterCard:
    """The engine's card of ``stage``'s strength: its meaning, default and range."""
    if stage not in STAGE_CARDS:
        raise ValueError(f"unknown restoration stage {str(stage)[:40]!r} (known: {', '.join(STAGE_ORDER)})")
    return next(p for p in STAGE_CARDS[stage].parameters if p.name == "strength")


def default_strengths() -> dict[str, float]:
    return {stage: float(strength_card(stage).default) for stage in STAGE_ORDER}


@dataclass(frozen=True)
class RestorationChoice:
    """The stages that are on (in ``STAGE_ORDER``) and every stage's strength (within its card's range)."""

    stages: tuple[str, ...] = ()
    strengths: tuple[tuple[str, float], ...] = field(default_factory=lambda: tuple(default_strengths().items()))

    def __post_init__(self) -> None:
        unknown = [s for s in (*self.stages, *(name for name, _ in self.strengths)) if s not in STAGE_ORDER]
        if unknown:
            raise ValueError(f"unknown restoration stage {str(unknown[0])[:40]!r} (known: {', '.join(STAGE_ORDER)})")
        object.__setattr__(self, "stages", tuple(s for s in STAGE_ORDER if s in self.stages))
        merged = default_strengths() | dict(self.strengths)
        for name, value in merged.items():
            card = strength_card(name)
            if not card.low <= value <= card.high:
                raise ValueError(f"{name} strength must be from {card.low:g} to {card.high:g}, got {value!r}")
        object.__setattr__(self, "strengths", tuple((s, float(merged[s])) for s in STAGE_ORDER))

    @property
    def is_empty(self) -> bool:
        return not self.stages

    def strength(self, stage: str) -> float:
        return dict(self.strengths)[stage]

    def with_stage(self, stage: str, on: bool) -> RestorationChoice:
        stages = set(self.stages) | {stage} if on else set(self.stages) - {stage}
        return RestorationChoice(tuple(stages), self.strengths)

    def with_strength(self, stage: str, value: float) -> RestorationChoice:
        return RestorationChoice(self.stages, tuple((dict(self.strengths) | {stage: float(value)}).items()))

    def restore_text(self) -> str:
        """The ``--restore`` value: ``"scratches,fading"``."""
        return ",".join(self.stages)

    def strength_text(self) -> str:
        """The ``--restore-strength`` value for the stages that are on: ``"scratches=0.5,fading=0.7"``."""
        return ",".join(f"{stage}={self.strength(stage):g}" for stage in self.stages)

    def cli_arguments(self) -> list[str]:
        """The options that make ``main.py colorize`` restore as this choice does ([] when no stage is on)."""
        if self.is_empty:
            return []
        return ["--restore", self.restore_text(), "--restore-strength", self.strength_text()]

    def request(self) -> tuple[tuple[str, ...], RestorationOptions]:
        """(stages, options) as ``colorize --restore ... --restore-strength ...`` makes them.
        ValueError when no stage is on."""
        stages = parse_stages(self.restore_text())
        return stages, RestorationOptions().with_strengths(parse_strengths(self.strength_text(), stages))

    def options(self) -> RestorationOptions:
        """Every stage's options with this choice's strengths (also for a stage that is off)."""
        return RestorationOptions().with_strengths(dict(self.strengths))

    def describe(self) -> str:
        """'scratches 50 %, fading 70 %', or 'nothing' when no stage is on."""
        return ", ".join(f"{s} {round(self.strength(s) * 100)} %" for s in self.stages) or "nothing"


@dataclass(frozen=True)
class AppliedRestoration:
    """A photo's restoration, done: colorizing it starts from ``luma_path`` (``.npy``, the restored
    full-resolution ``(H, W)`` luma, the photo's own dtype) instead of the photo's own luma."""

    choice: RestorationChoice
    luma_path: Path
    size: tuple[int, int]  # (width, height) of the restored luma


@dataclass(frozen=True, eq=False)  # eq=False: numpy fields
class RestorationJob:
    """Find the damage of ``source`` (``DETECT``) or restore it (``RESTORE``) on the inference thread.

    ``mask``: ``(H, W)`` bool at the photo's full size, the user's edited damage, filled instead of
    detecting (the sender does not touch it again); None finds the damage. ``output``: where a
    restore writes the restored luma. ``serial`` orders jobs: reports of an older one are dropped.
    """

    kind: str
    source: Path
    choice: RestorationChoice
    cancel: CancelToken
    serial: int
    mask: np.ndarray | None = None
    output: Path | None = None

    def __post_init__(self) -> None:
        if self.kind not in (DETECT, RESTORE):
            raise ValueError(f"a restoration job is {DETECT!r} or {RESTORE!r}, got {self.kind!r}")
        if self.kind == RESTORE and (self.choice.is_empty or self.output is None):
            raise ValueError("a restore job needs at least one stage and an output path")
        if self.mask is not None and not (isinstance(self.mask, np.ndarray) and self.mask.ndim == 2):
            raise ValueError(f"the damage mask must be (H, W), got {getattr(self.mask, 'shape', type(self.mask))}")


@dataclass(frozen=True)
class RestorationProgress:
    source: Path
    serial: int
    stage: str  # the stage at work ("" while the photo is read)
    fraction: float  # of the whole job, 0..1


@dataclass(frozen=True, eq=False)
class DamageFound:
    """``mask``: ``(H, W)`` bool, the photo's damage at full size, as the scratch stage would fill it."""

    source: Path
    serial: int
    mask: np.ndarray


@dataclass(frozen=True, eq=False)
class PhotoRestored:
    """``display``: ``(h, w, 3)`` uint8 gray sRGB of the restored photo, display-sized; ``mask``:
    the damage that was filled (None when the scratch stage was off); ``applied``: for colorizing."""

    source: Path
    serial: int
    display: np.ndarray
    mask: np.ndarray | None
    applied: AppliedRestoration
    seconds: float


@dataclass(frozen=True)
class RestorationFailure:
    source: Path
    serial: int
    message: str  # for people, one line
