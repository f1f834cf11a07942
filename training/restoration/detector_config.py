"""Configuration of a damage-detector training run (frozen, validated)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.models.card import MODEL_SUFFIX
from engine.models.registry import model_name_problem
from engine.paths import runs_dir
from training.install_record import foreign_files


@dataclass(frozen=True)
class DetectorTrainingConfig:
    photos: Path  # folder of clean photos (colour or gray); damage is drawn on their luma
    out: Path  # the detector file written at the end (.safetensors, with a .json card beside it)
    name: str = "revive-damage-detector"
    steps: int = 3000
    batch_size: int = 8
    size: int = 128  # training crop side, pixels
    cache_size: int = 144  # photos are cached as centre squares of this side; crops are taken from them
    max_photos: int = 3000  # photos cached for training, spread evenly over the (sorted) folder
    learning_rate: float = 2e-3
    widths: tuple[int, int, int] = (16, 32, 64)
    dilations: tuple[int, int] = (2, 4)
    undamaged_share: float = 0.3  # crops left clean: the detector must learn to find nothing
    dice_weight: float = 0.1  # soft Dice on top of the per-pixel cross-entropy
    hard_negative_weight: float = 4.0  # extra weight on clean pixels the network calls damage (x its probability)
    init_from: Path | None = None  # start from this detector file's weights (fine-tuning), not from scratch
    device: str = "cpu"
    threads: int = 1  # torch and OpenCV threads (the machine is shared)
    seed: int = 0
    resume: bool = False
    force: bool = False  # replace a file at ``out`` (or its card) that this run did not write
    run_dir: Path | None = None  # default: <REVIVE_HOME>/runs/detector-<name>
    checkpoint_every: int = 250
    validate_every: int = 500
    validation_images: int = 192  # held-out photos (tuning half, by file-name hash) for validation and tuning
    validation_size: int = 256
    clean_budget: float = 0.02  # at most this share of clean held-out photos may get any mask

    def __post_init__(self) -> None:
        # The name decides the default run folder: a path in it would put files outside the data folder.
        problem = model_name_problem(self.name)
        if problem:
            raise ValueError(problem)
        if Path(self.out).suffix != MODEL_SUFFIX:
            raise ValueError(f"the detector file must end in {MODEL_SUFFIX}, got {Path(self.out).name}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.cache_size < 32 or self.cache_size % 4:
            raise ValueError(f"cache size must be a multiple of 4 and at least 32, got {self.cache_size}")
        # Crops are cut from the cached squares, so the cache size is the crop's upper bound.
        if not 32 <= self.size <= self.cache_size or self.size % 4:
            raise ValueError(f"--size must be from 32 to {self.cache_size} (a multiple of 4), got {self.size}")
        if self.max_photos < 1 or self.validation_images < 1:
            raise ValueError("max photos and validation images must be at least 1")
        if self.validation_size < 32 or self.validation_size % 4:
            raise ValueError(f"validation size must be a multiple of 4 and at least 32, got {self.validation_size}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning rate must be between 0 and 1, got {self.learning_rate}")
        for name in ("undamaged_share", "clean_budget"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name.replace('_', ' ')} must be from 0 to 1, got {getattr(self, name)}")
        if self.dice_weight < 0 or self.hard_negative_weight < 0:
            raise ValueError("dice and hard-negative weights must be 0 or more")
        if self.init_from is not None and self.resume:
            raise ValueError("--init-from starts a new run; it cannot be combined with --resume")
        if not 1 <= self.threads <= 64:
            raise ValueError(f"threads must be from 1 to 64, got {self.threads}")
        if self.checkpoint_every < 1 or self.validate_every < 1:
            raise ValueError("checkpoint and validation intervals must be at least 1 step")

    @property
    def architecture_arguments(self) -> dict:
        return {"widths": list(self.widths), "dilations": list(self.dilations)}


def detector_run_dir(config: DetectorTrainingConfig) -> Path:
    """The run folder: ``run_dir`` when given, else ``runs/detector-<name>`` (a checked name)."""
    return Path(config.run_dir) if config.run_dir is not None else runs_dir() / f"detector-{config.name}"


def out_problem(config: DetectorTrainingConfig) -> str | None:
    """Why writing ``config.out`` would destroy a file (None when it would not): a file there, or
    its card, that this run did not write itself (``training.install_record``), unless
    ``force``. Checked before training and again right before writing."""
    if config.force:
        return None
    out = Path(config.out)
    foreign = foreign_files(detector_run_dir(config), (out, out.with_suffix(".json")))
    if not foreign:
        return None
    them = "it" if len(foreign) == 1 else "them"
    return (
        f"{' and '.join(str(p) for p in foreign)} already exist{'s' if len(foreign) == 1 else ''} and this run"
        f" did not write {them}: choose another --out, or add --force to replace {them}"
    )
