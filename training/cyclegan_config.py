"""Configuration of a CycleGAN fine-tuning run (frozen, validated), saved as ``config.json`` in the run.

Names follow Zhu et al. 2017 ("Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks"): domain A = the user's old photos (gray, sepia, faded), domain B = colour photos.
G: A -> B is the colorizer (initialised from a base model file; its architecture comes from that file),
F: B -> A makes an "old photo" from a colour one (a ``ResnetGenerator`` built from the options here),
D_A and D_B are PatchGAN discriminators. The options the paper and its follow-ups study (residual
blocks, batch vs instance norm, strided convolutions vs pooling, LeakyReLU vs ReLU) apply to F, to the
discriminators, and to G only when G is a ``ResnetGenerator`` trained from scratch (the Monet example).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from engine.architectures.layers import ACTIVATIONS, NORMS
from engine.device import DEVICE_CHOICES
from engine.errors import ReviveError
from engine.paths import runs_dir

# A run folder's files (see training.cyclegan_trainer).
CONFIG_FILE = "config.json"
STATE_FILE = "state.pt"
BASE_CARD_FILE = "base_card.json"
DATASET_FILE = "dataset.json"
METRICS_FILE = "metrics.json"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class CycleGANConfig:
    old: Path  # domain A: folder of old photos (gray / sepia / faded)
    color: Path  # domain B: folder of colour photos
    name: str | None = None  # installed model's name; set = export automatically at the end
    base: str | None = None  # base model name or path; None = the installed default model
    preset: str = "custom"  # which preset these values came from (recorded in the model card)

    steps: int = 300
    size: int = 64  # training crop side, pixels (multiple of 16)
    batch_size: int = 2
    learning_rate: float = 2e-4  # Adam, all four networks (paper: 2e-4)
    beta1: float = 0.5  # Adam beta1 (paper: 0.5)
    decay_fraction: float = 0.5  # share of the run over which the lr decays linearly to 0 (paper: half)

    # Loss weights (paper: lambda_cyc = 10, identity = 0.5 * lambda_cyc).
    cycle_weight: float = 10.0
    identity_weight: float = 0.5  # relative to cycle_weight; applies to F(A) ~ A (see cyclegan_step)
    paired_weight: float = 1.0  # G(L of B) reproduces B's colour (the free paired term)
    diversity_weight: float = 1.0  # mode-collapse guard (see cyclegan_step.diversity_penalty)
    diversity_margin: float = 4.0  # Lab units: spread of per-photo mean a*b* under which it penalises
    pool_size: int = 50  # past fakes kept per discriminator (paper: 50)

    # F (and a from-scratch ResnetGenerator G) and the discriminators.
    f_filters: int = 64
    f_blocks: int = 9  # residual blocks (paper: 9 at 256 px, 6 at 128 px)
    d_filters: int = 64
    d_layers: int = 3  # 3 = the 70x70 PatchGAN
    norm: str = "instance"  # "instance" (paper) or "batch" or "none"
    norm_first: bool = False  # normalise the generator's first layer (paper: no)
    norm_last: bool = False  # normalise the generator's last layer (paper: no)
    activation: str = "relu"  # generator activation: "relu" (paper) or "leaky_relu"
    downsampling: str = "strided"  # "strided" convolutions (paper) or "pool"
    freeze_g_batch_norm: bool = True  # keep the base colorizer's BN statistics (small batches wreck them)

    device: str = "auto"
    precision: str = "auto"
    resume: bool = False
    run_dir: Path | None = None  # default: <REVIVE_HOME>/runs/<name> (or runs/cyclegan without a name)
    checkpoint_every: int = 100
    preview_every: int = 50
    preview_count: int = 4  # held-out photos per folder (never trained on)
    preview_size: int = 128  # short side of the previews, pixels
    max_images: int = 2000  # per folder; more are skipped (deterministic, by file-name hash)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "old", Path(self.old))
        object.__setattr__(self, "color", Path(self.color))
        if self.run_dir is not None:
            object.__setattr__(self, "run_dir", Path(self.run_dir))
        _at_least("steps", self.steps, 1)
        if self.size < 32 or self.size % 16:
            raise ValueError(f"size must be a multiple of 16 and at least 32, got {self.size}")
        _at_least("batch size", self.batch_size, 1)
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning rate must be between 0 and 1, got {self.learning_rate}")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1), got {self.beta1}")
        if not 0 <= self.decay_fraction <= 1:
            raise ValueError(f"decay fraction must be between 0 and 1, got {self.decay_fraction}")
        for label, value in (
            ("cycle weight", self.cycle_weight),
            ("identity weight", self.identity_weight),
            ("paired weight", self.paired_weight),
            ("diversity weight", self.diversity_weight),
            ("diversity margin", self.diversity_margin),
        ):
            if value < 0:
                raise ValueError(f"{label} must be 0 or more, got {value}")
        _at_least("pool size", self.pool_size, 0)
        _at_least("F filters", self.f_filters, 1)
        _at_least("F residual blocks", self.f_blocks, 0)
        _at_least("discriminator filters", self.d_filters, 1)
        _at_least("discriminator layers", self.d_layers, 1)
        _one_of("norm", self.norm, NORMS)
        _one_of("activation", self.activation, ACTIVATIONS)
        _one_of("downsampling", self.downsampling, ("strided", "pool"))
        _one_of("device", self.device, DEVICE_CHOICES)
        _one_of("precision", self.precision, PRECISIONS)
        _at_least("checkpoint interval", self.checkpoint_every, 1)
        _at_least("preview interval", self.preview_every, 1)
        _at_least("preview count", self.preview_count, 0)
        if self.preview_size < 32 or self.preview_size % 16:
            raise ValueError(f"preview size must be a multiple of 16 and at least 32, got {self.preview_size}")
        _at_least("max images", self.max_images, 1)
        if self.name is not None and (not self.name or any(c in self.name for c in '/\\:*?"<>|')):
            raise ValueError(f"model name {self.name!r} must be a plain file name (no slashes)")

    @property
    def cache_size(self) -> int:
        """Side of the cached squares the random crops are cut from (paper: load 286, crop 256)."""
        return int(self.size * 1.125) // 8 * 8

    @property
    def decay_start(self) -> int:
        """The step at which the learning rate starts its linear decay to 0."""
        return int(round(self.steps * (1.0 - self.decay_fraction)))

    def resolved_run_dir(self) -> Path:
        return self.run_dir or runs_dir() / (self.name or "cyclegan")

    def to_json(self) -> str:
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "config.json") -> "CycleGANConfig":
        """Parse a saved config; ReviveError for damaged files, ValueError for bad values."""
        try:
            data: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError as error:
            raise ReviveError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise ReviveError(f"{where}: not a JSON object")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def options(self) -> dict[str, Any]:
        """The training options worth recording in a model card (no paths or run mechanics)."""
        skip = {"old", "color", "name", "base", "device", "precision", "resume", "run_dir", "preview_every",
                "preview_count", "preview_size", "checkpoint_every"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


def load_run_config(run_dir: Path) -> CycleGANConfig:
    """The config a run was started with (``run_dir/config.json``); ReviveError if there is none."""
    path = Path(run_dir) / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReviveError(f"{run_dir} is not a CycleGAN training run (no {CONFIG_FILE})") from None
    except OSError as error:
        raise ReviveError(f"cannot read {path}: {error.strerror}") from None
    return CycleGANConfig.from_json(text, str(path))


def _at_least(label: str, value: int, minimum: int) -> None:
    if value < minimum:
        bound = "0 or more" if minimum == 0 else f"at least {minimum}"
        raise ValueError(f"{label} must be {bound}, got {value}")


def _one_of(label: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{label} must be one of {', '.join(choices)}, got {value!r}")
