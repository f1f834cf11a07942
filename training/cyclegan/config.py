"""Configuration of a CycleGAN fine-tuning run (frozen, validated), saved as ``config.json`` in the run.

Names follow Zhu et al. 2017 ("Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks"): domain A = the user's old photos (gray, sepia, faded), domain B = colour photos.
G: A -> B is the colorizer (initialised from a base model file; its architecture comes from that file),
F: B -> A makes an "old photo" from a colour one (a ``ResnetGenerator`` built from the options here),
D_A and D_B are PatchGAN discriminators. The options the paper and its follow-ups study (residual
blocks, batch vs instance norm, strided convolutions vs pooling, LeakyReLU vs ReLU) apply to F, to the
discriminators, and to G only when G is a ``ResnetGenerator`` trained from scratch (the Monet example).

A fine-tune must earn its place: ``score_count`` of the colour photos are held out (never trained on),
turned gray and scored for the base and for G at every preview (``training.cyclegan.scores``); only a
G that beats the base there is installed, unless ``keep_worse`` is set.

Torch-free (so ``main.py --help`` and the checks of a command's options never load torch): the
presets live here too, as data; ``training.cyclegan.presets`` adds the time estimate, which needs torch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.batch.settings import DEVICE_CHOICES
from engine.errors import ReviveError
from engine.models.registry import is_shipped_name, model_name_problem
from engine.paths import runs_dir
from training.base.installing import check_name_is_free

# A run folder's files (see training.cyclegan.trainer).
CONFIG_FILE = "config.json"
STATE_FILE = "state.pt"
BASE_CARD_FILE = "base_card.json"
DATASET_FILE = "dataset.json"
METRICS_FILE = "metrics.json"
SCORES_FILE = "scores.json"  # base vs fine-tuned on the held-out colour photos, at every preview
BEST_MODEL_FILE = "best.safetensors"  # G at the best-scoring step that beats the base (a model file)
# G at the last checkpoint, as a model file: exporting it (--keep-worse) needs no state.pt.
LATEST_MODEL_FILE = "latest.safetensors"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# The choices of engine.models.architectures.layers (which imports torch); a test keeps the two equal.
NORMS = ("instance", "batch", "none")
ACTIVATIONS = ("relu", "leaky_relu")
DAMAGED_RUN = "the saved run in {} is damaged; start again without --resume (or delete that folder)"


class DamagedRun(ReviveError):
    """A run folder's saved files cannot be trusted (unreadable, foreign, or hostile)."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(DAMAGED_RUN.format(run_dir))


@dataclass(frozen=True)
class CycleGANConfig:
    old: Path  # domain A: folder of old photos (gray / sepia / faded)
    color: Path  # domain B: folder of colour photos
    name: str | None = None  # installed model's name (and run folder's); set = export automatically at the end
    base: str | None = None  # base model name or path; None = the installed default model
    preset: str = "custom"  # which preset these values came from (recorded in the model card)

    steps: int = 300
    size: int = 64  # training crop side, pixels (multiple of 16)
    batch_size: int = 2
    learning_rate: float = 2e-4  # Adam, F and the discriminators (paper: 2e-4 for all four networks)
    g_learning_rate: float | None = None  # Adam for G, the pretrained colorizer; None = learning_rate
    beta1: float = 0.5  # Adam beta1 (paper: 0.5)
    decay_fraction: float = 0.5  # share of the run over which the lr decays linearly to 0 (paper: half)

    # Loss weights (paper: lambda_cyc = 10, identity = 0.5 * lambda_cyc).
    cycle_weight: float = 10.0
    identity_weight: float = 0.5  # relative to cycle_weight; applies to F(A) ~ A (see cyclegan_step)
    paired_weight: float = 1.0  # G(L of B) reproduces B's colour (the free paired term)
    regression_weight: float = 1.0  # within it, the base recipe's light L1 on the mean a*b* (toward neutral, not blue)
    balance_power: float = 0.5  # colour photos' sources weighted by count ** power (1 = uniform over files)
    diversity_weight: float = 1.0  # mode-collapse guard (see cyclegan_step.diversity_penalty)
    diversity_margin: float = 4.0  # Lab units: spread of per-photo mean a*b* under which it penalises
    pool_size: int = 50  # past fakes kept per discriminator (paper: 50)
    adversarial_weight: float = 1.0  # of G's and F's GAN losses (paper: 1)
    adversarial_warmup: int = 0  # steps over which that weight ramps linearly from 0 (0 = full from the start)

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
    force: bool = False  # allow a name that hides a shipped model of the same name
    run_dir: Path | None = None  # default: <REVIVE_HOME>/runs/<name> (or runs/cyclegan without a name)
    checkpoint_every: int = 100
    preview_every: int = 50
    preview_count: int = 4  # held-out photos per folder (never trained on)
    preview_size: int = 128  # short side of the previews, pixels
    max_images: int = 2000  # per folder; more are skipped (deterministic, by file-name hash)
    score_count: int = 8  # colour photos held out (by file-name hash) to score base vs fine-tuned
    score_side: int = 384  # long side of those photos when scored, pixels (never enlarged)
    keep_worse: bool = False  # install the fine-tuned G even when it does not beat the base
    seed: int = 0

    def __post_init__(self) -> None:
        # The name first: it becomes a folder and a file name, so nothing else matters when it is unfit.
        if self.name is not None:
            problem = model_name_problem(self.name)
            if problem:
                raise ValueError(problem)
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
        if self.g_learning_rate is not None and not 0 < self.g_learning_rate < 1:
            raise ValueError(f"G's learning rate must be between 0 and 1, got {self.g_learning_rate}")
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
            ("adversarial weight", self.adversarial_weight),
            ("regression weight", self.regression_weight),
        ):
            if value < 0:
                raise ValueError(f"{label} must be 0 or more, got {value}")
        _at_least("pool size", self.pool_size, 0)
        _at_least("adversarial warm-up", self.adversarial_warmup, 0)
        if not 0 <= self.balance_power <= 1:
            raise ValueError(f"balance power must be between 0 and 1, got {self.balance_power}")
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
        _at_least("score count", self.score_count, 1)
        _at_least("score side", self.score_side, 32)

    @property
    def cache_size(self) -> int:
        """Side of the cached squares the random crops are cut from (paper: load 286, crop 256)."""
        return int(self.size * 1.125) // 8 * 8

    @property
    def g_lr(self) -> float:
        """G's learning rate (``g_learning_rate``, or ``learning_rate`` when that is not set)."""
        return self.learning_rate if self.g_learning_rate is None else self.g_learning_rate

    @property
    def decay_start(self) -> int:
        """The step at which the learning rate starts its linear decay to 0."""
        return int(round(self.steps * (1.0 - self.decay_fraction)))

    def resolved_run_dir(self) -> Path:
        """The run folder: ``run_dir`` when given, else a sub-folder of the runs folder named after
        the model (a checked name, so it can never be the runs folder itself or outside it)."""
        return self.run_dir or runs_dir() / (self.name or "cyclegan")

    def to_json(self) -> str:
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "config.json") -> "CycleGANConfig":
        """Parse a saved config; ReviveError for a damaged file or a bad value in it."""
        try:
            data: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError as error:
            raise ReviveError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise ReviveError(f"{where}: not a JSON object")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as error:
            raise ReviveError(f"{where}: bad value ({error})") from None

    def options(self) -> dict[str, Any]:
        """The training options worth recording in a model card (no paths or run mechanics)."""
        skip = {
            "old",
            "color",
            "name",
            "base",
            "device",
            "precision",
            "resume",
            "force",
            "run_dir",
            "preview_every",
            "preview_count",
            "preview_size",
            "checkpoint_every",
            "score_count",
            "score_side",
            "keep_worse",
        }
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


def start_problem(config: CycleGANConfig) -> str | None:
    """Why the run cannot start (None when it can), found at once, without torch and before any
    folder is read: a name that would hide a shipped model (unless ``force``), an existing run
    without ``resume``, ``resume`` with nothing to resume, or a name under which a model is
    installed that this run did not install (``training.base.installing``: ``force`` does not lift
    it, replacing a user's file would lose it for good)."""
    if config.name and is_shipped_name(config.name) and not config.force:
        return (
            f"{config.name!r} is the name of a shipped model: your model would replace it everywhere;"
            " choose another name, or add --force"
        )
    run_dir = config.resolved_run_dir()
    saved = os.path.lexists(run_dir / STATE_FILE)  # lexists: a dangling link is still "something there"
    if saved and not config.resume:
        return f"a training run already exists in {run_dir}: resume it (--resume) or pick another name"
    if config.resume and not saved:
        return f"there is no saved run to resume in {run_dir}; start without --resume"
    if config.name:
        try:
            check_name_is_free(run_dir, config.name, resumed=config.resume)
        except ReviveError as error:
            return str(error)
    return None


@dataclass(frozen=True)
class Preset:
    name: str
    title: str  # for a menu
    description: str  # for a tooltip: what to expect
    values: Mapping[str, Any]  # CycleGANConfig fields


def _preset(name: str, title: str, description: str, **values: Any) -> Preset:
    return Preset(name, title, description, MappingProxyType(values))


# Named starting points; anything can still be overridden (``make_config``).
# The real presets fine-tune G the way the base model was trained: the paired colour-class term
# (gray copy of a colour photo -> its colours) dominates, G learns 10x slower than F and the
# discriminators (it starts trained; F and D start from scratch), and the adversarial terms ramp in
# from 0 over the first third of the run, so an untrained D_B cannot push G off its colours (the
# first quick-cpu preset, with all four networks at 2e-4 and the GAN loss on from step 0, made
# unseen photos bluer and worse than the base). Cycle and identity weights are the paper's.
# Crops of at least 128 px, as the base was trained on: at 64 px even the paired term alone moved
# revive-base v2 off its colours within 50 steps (held-out CIEDE2000 9.2 -> 11.9 in 300 steps, a red
# cast a* +0.7 -> +7.0), whether the crops were cut from 72 px or 144 px squares, so it is the crop
# (the global-context branch pooling a small patch), not the scale; at 128 px the same 300 steps
# improve it (9.21 -> 9.06, the cast smaller) in about the same time on a 2-core CPU.
# The paired term's L1 on the mean a*b* at 5 (the base trained with 1): a fine-tune otherwise grows
# bolder than the base and unseen photos pay for it. Measured with quick-cpu from revive-base v2 on
# the 384 val photos (base: CIEDE2000 10.87, cast b* -2.25): 500 colour photos, weight 1: 10.99
# (worse), 5: 10.81 and 10.50 (two seeds); all 15,791 photos, weight 1: 10.76, 5: 10.54.
_FINE_TUNE = {"learning_rate": 2e-4, "g_learning_rate": 2e-5, "paired_weight": 5.0, "regression_weight": 5.0}
PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        p.name: p
        for p in (
            _preset(
                "tiny",
                "Tiny (tests)",
                "A handful of steps on 32 px crops with very small networks: checks the pipeline in seconds.",
                steps=4,
                size=32,
                batch_size=2,
                f_filters=8,
                f_blocks=1,
                d_filters=8,
                d_layers=2,
                checkpoint_every=2,
                preview_every=2,
                preview_count=2,
                preview_size=32,
                max_images=64,
                score_count=3,
                score_side=48,
            ),
            _preset(
                "quick-cpu",
                "Quick (laptop CPU)",
                "300 steps on 128 px crops with a small F (3 residual blocks), G kept close to the base: a"
                " careful first fine-tune on a laptop CPU, measured against the base on your own colour"
                " photos and installed only if it does better.",
                steps=300,
                size=128,
                batch_size=2,
                f_filters=16,
                f_blocks=3,
                d_filters=32,
                d_layers=3,
                adversarial_warmup=100,
                checkpoint_every=100,
                preview_every=50,
                preview_size=128,
                max_images=1000,
                score_count=8,
                **_FINE_TUNE,
            ),
            _preset(
                "gpu-fast",
                "Fast (GPU)",
                "5,000 steps on 128 px crops, 6 residual blocks (the paper's 128 px generator): tens of"
                " minutes on a recent GPU.",
                steps=5000,
                size=128,
                batch_size=4,
                f_filters=64,
                f_blocks=6,
                d_filters=64,
                d_layers=3,
                adversarial_warmup=1500,
                checkpoint_every=500,
                preview_every=250,
                preview_size=256,
                max_images=5000,
                score_count=16,
                **_FINE_TUNE,
            ),
            _preset(
                "gpu-standard",
                "Standard (GPU)",
                "20,000 steps on 256 px crops, 9 residual blocks: the paper's setting; hours on a GPU.",
                steps=20000,
                size=256,
                batch_size=4,
                f_filters=64,
                f_blocks=9,
                d_filters=64,
                d_layers=3,
                adversarial_warmup=5000,
                checkpoint_every=1000,
                preview_every=500,
                preview_size=256,
                max_images=5000,
                score_count=16,
                **_FINE_TUNE,
            ),
        )
    }
)
DEFAULT_PRESET = "quick-cpu"


# The smallest crop the presets fine-tune a colorizer on (see _FINE_TUNE's comment).
MIN_COLORIZER_CROP = 128


def crop_warning(config: CycleGANConfig) -> str | None:
    """A warning line when ``config`` fine-tunes on crops smaller than the base was trained on."""
    if config.size >= MIN_COLORIZER_CROP or config.preset == "tiny":
        return None
    return (
        f"{config.size} px crops are smaller than the base colorizer learnt on; in our measurements"
        f" crops under {MIN_COLORIZER_CROP} px moved its colours (a red cast within 50 steps). The"
        " fine-tune is still scored and installed only if it beats the base."
    )


def preset_names() -> tuple[str, ...]:
    return tuple(PRESETS)


def make_config(preset: str, old: Path, color: Path, **overrides: Any) -> CycleGANConfig:
    """A config from ``preset``'s values, then ``overrides`` (None values are ignored).

    ValueError for an unknown preset or field, or a bad value (the message says which)."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    known = set(CycleGANConfig.__dataclass_fields__)
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    values = {**PRESETS[preset].values, **{k: v for k, v in overrides.items() if v is not None}}
    return CycleGANConfig(old=Path(old), color=Path(color), preset=preset, **values)


def _at_least(label: str, value: int, minimum: int) -> None:
    if value < minimum:
        bound = "0 or more" if minimum == 0 else f"at least {minimum}"
        raise ValueError(f"{label} must be {bound}, got {value}")


def _one_of(label: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{label} must be one of {', '.join(choices)}, got {value!r}")
