"""Named starting points for CycleGAN fine-tuning, and an honest time estimate before training.

Presets only fill ``CycleGANConfig`` fields; anything can still be overridden. ``estimate_seconds``
builds the real networks, runs real steps on random images of the configured size and extrapolates.
"""

from __future__ import annotations

import logging
import statistics
import time

import numpy as np
import torch

from engine.device import select_device
from training.cyclegan.config import DEFAULT_PRESET, PRESETS, CycleGANConfig, Preset, make_config, preset_names
from training.cyclegan.preview import translate_previews
from training.cyclegan.scores import prepare_photos, score_model
from training.cyclegan.step import ColorizerG
from training.cyclegan.trainer import build_networks, load_base

log = logging.getLogger(__name__)

# The table lives in the torch-free config module (the command line lists presets without torch).
__all__ = ["DEFAULT_PRESET", "PRESETS", "Preset", "estimate_seconds", "make_config", "preset_names"]


def estimate_seconds(config: CycleGANConfig, device: str | None = None, timed_steps: int = 2) -> float:
    """Seconds the whole run should take on ``device`` (default: the config's), from real steps.

    Builds G from the base model and F, D_A, D_B from the options; runs one warm-up step and
    ``timed_steps`` timed ones on random images of the configured size; adds the previews and the
    scoring of the held-out colour photos at each of them (measured on one random photo). Loading
    the folders is not included (seconds for hundreds of photos). The random images come from a
    generator of its own: nothing here forks or reseeds torch's global RNG (this runs on a pool thread,
    and restoring the process-wide state there would rewind it under any other thread drawing from it);
    building the networks draws their initial weights from it, as any module construction does.
    """
    choice = select_device(device or config.device, config.precision)
    generator = torch.Generator().manual_seed(0)  # local: a pool thread never forks torch's global RNG
    module, card, _ = load_base(config.base)
    networks = build_networks(config, choice.device, module, card)
    centers = getattr(module, "bin_centers", None)
    assert isinstance(networks.g, ColorizerG)  # build_networks' G is always the colorizer
    networks.g.class_weights = None if centers is None else torch.ones(len(centers), device=choice.device)
    networks.train()
    shape = (config.batch_size, 3, config.size, config.size)
    gray = (torch.rand(shape, generator=generator) * 2 - 1).mean(1, keepdim=True)
    real_a = gray.expand(shape).contiguous().to(choice.device)
    real_b = (torch.rand(shape, generator=generator) * 2 - 1).to(choice.device)
    times = []
    for i in range(1 + timed_steps):
        _synchronize(choice.device)
        tick = time.perf_counter()
        networks.step(real_a, real_b, config, 1.0, choice.dtype)
        _synchronize(choice.device)
        if i:
            times.append(time.perf_counter() - tick)
    per_step = statistics.median(times)
    previews: tuple[tuple[str, np.ndarray], ...] = ()
    if config.preview_count:
        side = config.preview_size
        image = torch.zeros((side, side * 4 // 3 // 16 * 16, 3), dtype=torch.uint8).numpy()
        previews = tuple((str(i), image) for i in range(config.preview_count))
    tick = time.perf_counter()
    translate_previews(networks.g, previews, choice.device, choice.dtype)
    per_preview = time.perf_counter() - tick
    # One held-out colour photo scored (colorized as the installed model would, then measured).
    side = config.score_side
    rng = np.random.default_rng(0)
    photo = prepare_photos([("x", rng.integers(0, 256, (side * 3 // 4, side, 3), dtype=np.uint8))])
    tick = time.perf_counter()
    score_model(module, card, photo, choice)
    per_preview += (time.perf_counter() - tick) * config.score_count
    preview_rounds = config.steps // config.preview_every + 2
    total = per_step * config.steps + per_preview * preview_rounds
    log.info(
        "estimate: %.3f s/step x %d steps + previews and scores = %.0f s on %s",
        per_step,
        config.steps,
        total,
        choice.description,
    )
    return total


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
