"""Configuration of a base-colorizer training run (frozen, validated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.batch.settings import DEFAULT_TEMPERATURE
from engine.models.registry import model_name_problem

if TYPE_CHECKING:
    from training.decoding_sweep import Decoding


MAX_WIDTH = 1024  # channels of the widest U-Net level a run may ask for
MAX_BLOCKS = 16  # residual blocks at the bottleneck
# Upper bounds on what a run may ask for, so that an absurd option is one line here rather than an
# allocator failure minutes later. 1024 px crops (each cached at 1280 px) and batches of 1024 are
# far beyond the recipe (128-192 px, batch 16-64) yet still fit a large GPU at small widths.
MAX_SIZE = 1024
MAX_BATCH_SIZE = 1024
MAX_STEPS = 10_000_000  # also the largest step a saved state may hold (training.base.saved_state)
# Batches are seeded with seed * 1_000_003 + step (trainer.make_batch), which torch takes up to
# 2**64 - 1: any seed up to 2**32 - 1 fits with every step up to MAX_STEPS.
MAX_SEED = 2**32 - 1


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
    hints: bool = True  # optional colour-hint input channels (Zhang et al. 2017)
    global_fusion: bool = True  # photo-level branch fused at the bottleneck (Iizuka et al. 2016)
    hint_none_probability: float = 0.5  # share of batches trained without any hint
    balance_power: float = 0.5  # sources weighted by count ** power (see training.base.data)
    augment_strength: float = 1.0  # old-scan degradations of the input (training.data.augment); 0 = none
    regression_weight: float = 1.0  # light L1 on the mean a*b*: pulls uncertain colour toward neutral
    # Weight of the error of the decoded colour relative to the gray copy's (training.decoded_error),
    # decoded as the continued model's card says (a fresh run: DEFAULT_TEMPERATURE, nothing else); 0 = off.
    decoded_weight: float = 0.0
    decoded_colour_floor: float = 0.5  # with it, each crop keeps this share of its true mean chroma
    rebalance_lambda: float = 0.5  # class rebalancing: 1 = none, 0 = full (Zhang et al. 2016: 0.5)
    ema_decay: float = 0.999  # exponential moving average of the weights, used for export
    device: str = "auto"
    resume: bool = False
    force: bool = False  # allow a name that shadows a shipped model
    run_dir: Path | None = None  # default: <REVIVE_HOME>/runs/base-<name>
    checkpoint_every: int = 250
    validate_every: int = 500
    validation_images: int = 96
    render_size: int = 256  # written to the model card: the default inference short side
    seed: int = 0
    # Start from this installed model's weights (name or path) instead of random ones: its
    # architecture replaces widths/blocks/hints/global_fusion, its colour-class weights are kept
    # (so its prior correction still means the same), and the decodings swept at export are the
    # model's own and its neighbours (see decoding_grid).
    init_from: str | None = None
    tune_photos: Path | None = None  # colour photos on which decoding is chosen (default: the held-out split)
    tune_images: int = 192
    # Every snapshot is scored on this many of the tune photos and the best is installed
    # (training.base.snapshot_choice); False installs the last averaged weights.
    keep_best: bool = True
    snapshot_images: int = 96
    # Decodings swept at export (see training.decoding_sweep).
    render_sizes: tuple[int, ...] = field(default=(128, 192, 256))
    temperatures: tuple[float, ...] = field(default=(0.2, 0.3, DEFAULT_TEMPERATURE, 0.5))
    prior_corrections: tuple[float, ...] = field(default=(0.0, 0.25, 0.5))
    chroma_scales: tuple[float, ...] = field(default=(0.7, 0.85, 1.0))
    confidence_gammas: tuple[float, ...] = field(default=(0.0, 0.5, 1.0))
    flips: tuple[bool, ...] = field(default=(False,))  # True: the photo's mirror is averaged in too

    def __post_init__(self) -> None:
        problem = model_name_problem(self.name)
        if problem:
            raise ValueError(problem)
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.steps > MAX_STEPS:
            raise ValueError(f"steps must be at most {MAX_STEPS}, got {self.steps}")
        if len(self.widths) != 4 or not all(isinstance(w, int) and 4 <= w <= MAX_WIDTH for w in self.widths):
            raise ValueError(f"widths must be 4 channel counts from 4 to {MAX_WIDTH}, got {self.widths}")
        if not 0 <= self.blocks <= MAX_BLOCKS:
            raise ValueError(f"blocks must be from 0 to {MAX_BLOCKS}, got {self.blocks}")
        if not 32 <= self.size <= MAX_SIZE or self.size % 16:
            raise ValueError(f"size must be a multiple of 16 from 32 to {MAX_SIZE}, got {self.size}")
        # The photo-level branch normalises its 1x1 map over the batch: one photo gives no statistics.
        fewest = 2 if self.global_fusion else 1
        if not fewest <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size must be from {fewest} to {MAX_BATCH_SIZE}, got {self.batch_size}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {self.seed}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning rate must be between 0 and 1, got {self.learning_rate}")
        if self.checkpoint_every < 1 or self.validate_every < 1:
            raise ValueError("checkpoint and validation intervals must be at least 1 step")
        for name in ("hint_none_probability", "rebalance_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name.replace('_', ' ')} must be between 0 and 1, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"EMA decay must be at least 0 and below 1, got {self.ema_decay}")
        if not 0.0 <= self.balance_power <= 1.0:
            raise ValueError(f"balance power must be between 0 and 1, got {self.balance_power}")
        if not 0.0 <= self.augment_strength <= 2.0:  # 2 applies every degradation to every photo
            raise ValueError(f"augmentation strength must be from 0 to 2, got {self.augment_strength}")
        if not 1 <= self.snapshot_images <= 10_000:
            raise ValueError(f"snapshot images must be from 1 to 10000, got {self.snapshot_images}")
        if not 0.0 <= self.regression_weight < float("inf"):
            raise ValueError(f"regression weight must be a number of at least 0, got {self.regression_weight}")
        if not 0.0 <= self.decoded_weight < float("inf"):
            raise ValueError(f"decoded-colour weight must be a number of at least 0, got {self.decoded_weight}")
        if not 0.0 <= self.decoded_colour_floor <= 1.0:
            raise ValueError(f"decoded colour floor must be from 0 to 1, got {self.decoded_colour_floor}")

    def decoding_grid(
        self, start: Decoding | None = None
    ) -> tuple[
        tuple[int, ...],
        tuple[float, ...],
        tuple[float, ...],
        tuple[float, ...],
        tuple[float, ...],
        tuple[bool, ...],
        tuple[float, ...],
    ]:
        """(render sizes, temperatures, prior corrections, chroma scales, confidence gammas, flips,
        lightness roll-offs) swept at export. Continuing a model (``start``: its decoding) sweeps its
        neighbourhood: its render size, gamma, flip and roll-off, its temperature and +0.1, its prior
        correction and 1, chroma 1 to 1.2 (a dozen decodings, not the full grid's hundreds), with
        and without the mirror average when ``flips`` asks for it too."""
        if start is None:
            return (
                self.render_sizes,
                self.temperatures,
                self.prior_corrections,
                self.chroma_scales,
                self.confidence_gammas,
                self.flips,
                (0.0,),
            )
        return (
            (start.render_size,),
            tuple(sorted({start.temperature, round(start.temperature + 0.1, 3)})),
            tuple(sorted({start.prior_correction, 1.0})),
            tuple(sorted({start.chroma_scale, 1.1, 1.2} | {1.0})),
            (start.confidence_gamma,),
            (start.flip_average,) if self.flips == (False,) else tuple(sorted({start.flip_average, *self.flips})),
            (start.lightness_rolloff,),
        )

    @property
    def cache_size(self) -> int:
        """Side of the cached squares the random crops are cut from (room for scale jitter)."""
        return int(self.size * 1.25) // 8 * 8

    @property
    def architecture_arguments(self) -> dict:
        return {
            "widths": list(self.widths),
            "blocks": self.blocks,
            "hints": self.hints,
            "global_fusion": self.global_fusion,
        }
