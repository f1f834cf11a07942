"""Training the base colorizer: L* -> a*b* colour classes, on a folder of colour photos.

The loop is a generator of ``training.events`` objects; it checks a cancel token every step, saves
a resumable state (``state.pt``, tensors only, loaded with ``weights_only=True``) every
``checkpoint_every`` steps and on cancel, and exports a normal model file at the end.
Batches are a pure function of (seed, step), so a resumed run continues the same sequence.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from engine.ab_bins import annealed_mean
from engine.architectures.unet_colorizer import UNetColorizer
from engine.atomic_files import atomic_file
from engine.cancel import CancelToken
from engine.color import lab_to_rgb, rgb_to_lab
from engine.device import select_device
from engine.errors import ReviveError
from engine.metrics import colourfulness, mean_ciede2000, psnr, score
from engine.model_file import ModelCard, save_model
from engine.model_registry import user_model_path
from engine.paths import runs_dir
from training.base_config import BaseTrainingConfig
from training.colour_classes import colour_class_loss, rebalancing_weights
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted, ValidationDone
from training.photo_folder import list_photos, load_square_cache, split_photos

log = logging.getLogger(__name__)

WARMUP_STEPS = 100


def run_dir_for(config: BaseTrainingConfig) -> Path:
    return config.run_dir or runs_dir() / f"base-{config.name}"


def learning_rate_factor(step: int, total: int) -> float:
    """Linear warm-up, then cosine decay to 5 % (a function of the step, so resuming restores it)."""
    if step < WARMUP_STEPS:
        return (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, total - WARMUP_STEPS)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _to_lab(rgb_uint8: torch.Tensor) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 -> ``(N, 3, H, W)`` float32 Lab."""
    return rgb_to_lab(rgb_uint8.permute(0, 3, 1, 2).float() / 255.0)


def make_batch(cache: torch.Tensor, config: BaseTrainingConfig, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops (scale jitter, flips) for ``step``: (L* input ``(N, 1, S, S)`` in [-1, 1], a*b* ``(N, 2, S, S)``)."""
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
    count, side = cache.shape[0], cache.shape[1]
    index = torch.randint(count, (config.batch_size,), generator=generator)
    crop = int(torch.randint(config.size, side + 1, (1,), generator=generator))
    y = int(torch.randint(0, side - crop + 1, (1,), generator=generator))
    x = int(torch.randint(0, side - crop + 1, (1,), generator=generator))
    images = cache[index, y : y + crop, x : x + crop]
    lab = _to_lab(images)
    if crop != config.size:
        lab = F.interpolate(lab, size=(config.size, config.size), mode="bilinear", align_corners=False)
    flip = torch.rand(config.batch_size, generator=generator) < 0.5
    lab[flip] = lab[flip].flip(-1)
    return lab[:, :1] / 50.0 - 1.0, lab[:, 1:]


def _save_state(path: Path, model, optimizer, step: int, class_weights: torch.Tensor) -> None:
    with atomic_file(path) as handle:
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": torch.tensor(step),
                "class_weights": class_weights,
            },
            handle,
        )


@dataclass(frozen=True)
class Decoding:
    """How class probabilities become colour (see ``engine.ab_bins.annealed_mean``)."""

    temperature: float = 0.38
    prior_correction: float = 0.0
    chroma_scale: float = 1.0

    @property
    def label(self) -> str:
        return f"T={self.temperature:g} alpha={self.prior_correction:g} scale={self.chroma_scale:g}"


DEFAULT_DECODING = Decoding()


def decoding_grid(config: BaseTrainingConfig) -> tuple[Decoding, ...]:
    return tuple(
        Decoding(t, a, s)
        for t in config.temperatures
        for a in config.prior_corrections
        for s in config.chroma_scales
    )


@torch.inference_mode()
def evaluate(model: UNetColorizer, images: np.ndarray, decodings, device, dtype) -> dict[Decoding, dict[str, float]]:
    """Colorize held-out photos ``(N, S, S, 3)`` uint8 from their L* and score each decoding,
    with a gray copy's scores beside them (``gray_psnr``, ``gray_ciede2000``)."""
    model.eval()
    results: dict[Decoding, dict[str, list[float]]] = {d: {} for d in decodings}
    gray_scores: dict[str, list[float]] = {"psnr": [], "ciede2000": [], "colourfulness": []}
    for start in range(0, len(images), 16):
        chunk = torch.from_numpy(images[start : start + 16])
        lab = _to_lab(chunk)
        x = (lab[:, :1] / 50.0 - 1.0).to(device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(x).float()
        gray = lab_to_rgb(torch.cat((lab[:, :1], torch.zeros_like(lab[:, 1:])), 1))
        for decoding in decodings:
            ab = annealed_mean(
                logits, model.bin_centers, decoding.temperature, model.log_class_weights, decoding.prior_correction
            ) * decoding.chroma_scale
            ab = F.interpolate(ab, size=lab.shape[-2:], mode="bilinear", align_corners=False).cpu()
            rgb = lab_to_rgb(torch.cat((lab[:, :1], ab), 1))
            scores = results[decoding]
            for i in range(len(chunk)):
                out = (rgb[i].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
                for metric, value in score(out, chunk[i].numpy()).items():
                    scores.setdefault(metric, []).append(value)
        for i in range(len(chunk)):
            out = (gray[i].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
            ref = chunk[i].numpy()
            gray_scores["psnr"].append(psnr(out, ref))
            gray_scores["ciede2000"].append(mean_ciede2000(out, ref))
            gray_scores["colourfulness"].append(colourfulness(ref))
    model.train()
    summary = {d: {k: float(np.mean(v)) for k, v in s.items()} for d, s in results.items()}
    for scores in summary.values():
        scores["gray_psnr"] = float(np.mean(gray_scores["psnr"]))
        scores["gray_ciede2000"] = float(np.mean(gray_scores["ciede2000"]))
        scores["original_colourfulness"] = float(np.mean(gray_scores["colourfulness"]))
    return summary


# Margins by which a shipped decoding must beat a gray copy, so the win is not noise.
PSNR_MARGIN_DB = 0.25
CIEDE_MARGIN = 0.25


def choose_decoding(summary: dict[Decoding, dict[str, float]]) -> Decoding:
    """The most colourful decoding that beats a gray copy on PSNR and CIEDE2000 (by a margin) and
    leaves almost no photo gray; if none does, the one with the best PSNR."""
    good = [
        d
        for d, s in summary.items()
        if s["psnr"] > s["gray_psnr"] + PSNR_MARGIN_DB
        and s["ciede2000"] < s["gray_ciede2000"] - CIEDE_MARGIN
        and s["almost_gray"] <= 0.05
    ]
    if good:
        return max(good, key=lambda d: summary[d]["colourfulness"])
    return max(summary, key=lambda d: summary[d]["psnr"])


def train_base(config: BaseTrainingConfig, cancel: CancelToken | None = None) -> Iterator[object]:
    """Train (or resume) a base colorizer and install it as user model ``config.name``."""
    cancel = cancel or CancelToken()
    choice = select_device(config.device)
    device, dtype = choice.device, choice.dtype
    run_dir = run_dir_for(config)
    state_path = run_dir / "state.pt"
    if state_path.exists() and not config.resume:
        raise ReviveError(f"a training run already exists in {run_dir}: add --resume to continue it, or pick another name")

    train_paths, validation_paths = split_photos(list_photos(config.photos))
    if not train_paths:
        raise ReviveError(f"no photos found in {config.photos}")
    run_dir.mkdir(parents=True, exist_ok=True)
    train_cache = torch.from_numpy(load_square_cache(train_paths, config.cache_size))
    validation_cache = load_square_cache(validation_paths[: config.validation_images], config.size)

    torch.manual_seed(config.seed)  # the same seed gives the same initial weights, hence the same model
    model = UNetColorizer(widths=config.widths, blocks=config.blocks).to(device)
    centers = model.bin_centers
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.99), weight_decay=1e-5)
    start_step = 0
    if config.resume and state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        missing, unexpected = model.load_state_dict(state["model"], strict=False)
        if unexpected or set(missing) - {"log_class_weights"}:
            raise ReviveError(f"the saved state in {run_dir} does not match this model (delete the run to start over)")
        optimizer.load_state_dict(state["optimizer"])
        start_step = int(state["step"])
        class_weights = state["class_weights"].to(device)
    else:
        sample = _to_lab(train_cache[:: max(1, len(train_cache) // 1000)])
        class_weights = rebalancing_weights(F.avg_pool2d(sample[:, 1:], 4), centers.cpu()).to(device)
    model.log_class_weights.copy_(class_weights.log())
    yield TrainingStarted(run_dir, start_step, config.steps, choice.description, len(train_cache), len(validation_cache))

    model.train()
    step = start_step
    started = time.monotonic()
    recent: list[float] = []
    while step < config.steps:
        if cancel.cancelled:
            _save_state(state_path, model, optimizer, step, class_weights)
            yield CheckpointSaved(step, state_path)
            yield TrainingFinished(step, None, cancelled=True)
            return
        tick = time.monotonic()
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * learning_rate_factor(step, config.steps)
        lightness, ab = make_batch(train_cache, config, step)
        lightness, ab = lightness.to(device), ab.to(device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(lightness)
        loss = colour_class_loss(logits, ab, centers, class_weights)
        if not torch.isfinite(loss):
            raise ReviveError(f"training diverged at step {step} (loss is {loss.item()}); try a lower learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        recent = (recent + [time.monotonic() - tick])[-50:]
        per_step = sum(recent) / len(recent)
        yield StepDone(step, config.steps, {"colour_classes": loss.item()}, per_step, per_step * (config.steps - step))
        if step % config.checkpoint_every == 0 or step == config.steps:
            _save_state(state_path, model, optimizer, step, class_weights)
            yield CheckpointSaved(step, state_path)
        if (step % config.validate_every == 0 or step == config.steps) and len(validation_cache):
            summary = evaluate(model, validation_cache, (DEFAULT_DECODING,), device, dtype)
            yield ValidationDone(step, summary[DEFAULT_DECODING])
    log.info("trained %d steps in %.0f s", step - start_step, time.monotonic() - started)
    yield from _export(config, model, validation_cache, train_paths, device, dtype, step)


def _export(config, model, validation_cache, train_paths, device, dtype, step) -> Iterator[object]:
    summary = evaluate(model, validation_cache, decoding_grid(config), device, dtype) if len(validation_cache) else {}
    decoding = choose_decoding(summary) if summary else DEFAULT_DECODING
    metrics = {
        "validation": summary.get(decoding, {}),
        "validation_images": len(validation_cache),
        "decoding_sweep": {d.label: s for d, s in summary.items()},
    }
    card = ModelCard(
        name=config.name,
        architecture="unet_colorizer",
        arguments={"widths": list(config.widths), "blocks": config.blocks},
        render_size=config.render_size,
        temperature=decoding.temperature,
        prior_correction=decoding.prior_correction,
        chroma_scale=decoding.chroma_scale,
        description="Revive base colorizer: predicts a*b* colour classes from L* (Zhang et al. 2016 loss).",
        trained_on=f"{len(train_paths)} colour photos from {Path(config.photos).name}/ (held-out split by file-name hash)",
        training={
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k not in ("run_dir", "resume")},
            "steps_done": step,
            "loss": "class-rebalanced soft colour classification (lambda 0.5, 5 neighbours, sigma 5)",
            "decoding": "chosen on the held-out photos: the most colourful that beats a gray copy on PSNR and CIEDE2000",
        },
        metrics=metrics,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    path = save_model(user_model_path(config.name), model.cpu().eval(), card)
    yield TrainingFinished(step, path, metrics=metrics)
