"""Events a training loop yields. Small, frozen, plain data: safe to send across threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrainingStarted:
    run_dir: Path
    start_step: int
    total_steps: int
    device: str
    train_images: int
    validation_images: int


@dataclass(frozen=True)
class StepDone:
    step: int
    total_steps: int
    losses: dict[str, float]
    seconds_per_step: float
    eta_seconds: float


@dataclass(frozen=True)
class ValidationDone:
    step: int
    metrics: dict[str, float]
    # The snapshot's score on photos never trained on, where the run scores them
    # (training.base.snapshot_choice: {"decoding", "photos", "summary"}).
    tuned: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: Path


@dataclass(frozen=True)
class TrainingFinished:
    step: int
    model_path: Path | None
    cancelled: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)
