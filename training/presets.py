"""Named starting points for CycleGAN fine-tuning, and an honest time estimate before training.

Presets only fill ``CycleGANConfig`` fields; anything can still be overridden. ``estimate_seconds``
builds the real networks, runs real steps on random images of the configured size and extrapolates.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import torch

from engine.device import select_device
from training.cyclegan_config import CycleGANConfig
from training.cyclegan_preview import translate_previews
from training.cyclegan_trainer import build_networks, load_base

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str  # for a menu
    description: str  # for a tooltip: what to expect
    values: Mapping[str, Any]  # CycleGANConfig fields


def _preset(name: str, title: str, description: str, **values: Any) -> Preset:
    return Preset(name, title, description, MappingProxyType(values))


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        p.name: p
        for p in (
            _preset(
                "tiny",
                "Tiny (tests)",
                "A handful of steps on 32 px crops with very small networks: checks the pipeline in seconds.",
                steps=4, size=32, batch_size=2, f_filters=8, f_blocks=1, d_filters=8, d_layers=2,
                checkpoint_every=2, preview_every=2, preview_count=2, preview_size=32, max_images=64,
            ),
            _preset(
                "quick-cpu",
                "Quick (laptop CPU)",
                "300 steps on 64 px crops with a small F (3 residual blocks): a visible change in a few"
                " minutes on a laptop CPU. Good for trying a pair of folders.",
                steps=300, size=64, batch_size=2, f_filters=16, f_blocks=3, d_filters=32, d_layers=3,
                checkpoint_every=100, preview_every=50, preview_size=128, max_images=1000,
            ),
            _preset(
                "gpu-fast",
                "Fast (GPU)",
                "5,000 steps on 128 px crops, 6 residual blocks (the paper's 128 px generator): tens of"
                " minutes on a recent GPU.",
                steps=5000, size=128, batch_size=4, f_filters=64, f_blocks=6, d_filters=64, d_layers=3,
                checkpoint_every=500, preview_every=250, preview_size=256, max_images=5000,
            ),
            _preset(
                "gpu-standard",
                "Standard (GPU)",
                "20,000 steps on 256 px crops, 9 residual blocks: the paper's setting; hours on a GPU.",
                steps=20000, size=256, batch_size=4, f_filters=64, f_blocks=9, d_filters=64, d_layers=3,
                checkpoint_every=1000, preview_every=500, preview_size=256, max_images=5000,
            ),
        )
    }
)
DEFAULT_PRESET = "quick-cpu"


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


def estimate_seconds(config: CycleGANConfig, device: str | None = None, timed_steps: int = 2) -> float:
    """Seconds the whole run should take on ``device`` (default: the config's), from real steps.

    Builds G from the base model and F, D_A, D_B from the options; runs one warm-up step and
    ``timed_steps`` timed ones on random images of the configured size; adds the previews. Loading
    the folders is not included (seconds for hundreds of photos). Global RNG state is left untouched.
    """
    choice = select_device(device or config.device, config.precision)
    with torch.random.fork_rng(devices=[]):
        module, card, _ = load_base(config.base)
        networks = build_networks(config, choice.device, module, card)
        centers = getattr(module, "bin_centers", None)
        networks.g.class_weights = None if centers is None else torch.ones(len(centers), device=choice.device)
        networks.train()
        shape = (config.batch_size, 3, config.size, config.size)
        real_a = (torch.rand(shape) * 2 - 1).mean(1, keepdim=True).expand(shape).contiguous().to(choice.device)
        real_b = (torch.rand(shape) * 2 - 1).to(choice.device)
        times = []
        for i in range(1 + timed_steps):
            _synchronize(choice.device)
            tick = time.perf_counter()
            networks.step(real_a, real_b, config, 1.0, choice.dtype)
            _synchronize(choice.device)
            if i:
                times.append(time.perf_counter() - tick)
        per_step = statistics.median(times)
        previews = ()
        if config.preview_count:
            side = config.preview_size
            image = torch.zeros((side, side * 4 // 3 // 16 * 16, 3), dtype=torch.uint8).numpy()
            previews = tuple((str(i), image) for i in range(config.preview_count))
        tick = time.perf_counter()
        translate_previews(networks.g, previews, choice.device, choice.dtype)
        per_preview = time.perf_counter() - tick
    preview_rounds = config.steps // config.preview_every + 2
    total = per_step * config.steps + per_preview * preview_rounds
    log.info("estimate: %.3f s/step x %d steps + previews = %.0f s on %s", per_step, config.steps, total, choice.description)
    return total


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
