"""Configuration of a base-colorizer training run (frozen, validated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BaseTrainingConfig:
    photos: Path  # folder of colour photos; gray inputs are made from them
    name: str  # the installed model's name
    steps: int = 5000
    size: int = 128  # training crop side, pixels
    batch_size: int = 16
    learning_rate: float = 1e-3
    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    blocks: int = 4
    device: str = "auto"
    resume: bool = False
    run_dir: Path | None = None  # default: <REVIVE_HOME>/runs/base-<name>
    checkpoint_every: int = 250
    validate_every: int = 500
    validation_images: int = 96
    render_size: int = 256  # written to the model card: the default inference short side
    seed: int = 0
    # Decodings swept on the held-out photos at export (see training.base_trainer.choose_decoding).
    temperatures: tuple[float, ...] = field(default=(0.2, 0.3, 0.38, 0.5))
    prior_corrections: tuple[float, ...] = field(default=(0.0, 0.25, 0.5))
    chroma_scales: tuple[float, ...] = field(default=(0.7, 0.85, 1.0))

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.size < 32 or self.size % 16:
            raise ValueError(f"size must be a multiple of 16 and at least 32, got {self.size}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning rate must be between 0 and 1, got {self.learning_rate}")
        if self.checkpoint_every < 1 or self.validate_every < 1:
            raise ValueError("checkpoint and validation intervals must be at least 1 step")
        if not self.name:
            raise ValueError("the model needs a name (--out NAME)")

    @property
    def cache_size(self) -> int:
        """Side of the cached squares the random crops are cut from (room for scale jitter)."""
        return int(self.size * 1.25) // 8 * 8
