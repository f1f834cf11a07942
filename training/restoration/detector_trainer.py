"""Training the damage detector: luma -> per-pixel damage logits, on clean photos with drawn damage.

The loop is a generator of ``training.events`` objects, like the colorizer's: it checks a cancel
token every step, saves a resumable state (``state.pt``, tensors only, loaded with
``weights_only=True`` and checked) every ``checkpoint_every`` steps and on cancel, validates on
held-out photos (split by a hash of the file name, ``training.data.photo_folder``), and at the end
exports a detector file whose card carries the post-processing chosen on those photos.

Loss: per-pixel binary cross-entropy plus a light soft Dice term (Milletari et al. 2016), which
keeps the rare damage pixels (about 1-5 % of a crop) from being drowned by the clean ones, and a
hard-negative weight: a clean pixel counts 1 + ``hard_negative_weight`` x its predicted probability
(detached), so confident false alarms (a catch-light, a button, a bolt head: the first run's
mistakes on clean photos) cost more than doubtful ones.

Export tuning: thresholds, confirm levels and minimum areas are swept on the held-out photos,
damaged (IoU of the mask against the known one, summed over the set) and clean (the share of
photos that get any mask at all, which must stay within ``clean_budget``: a clean photo must come
out unchanged), together with a photo-level minimum (``min_share``: a mask covering less of the
photo than this is dropped). The best IoU within the budget wins.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.atomic_files import atomic_file
from engine.cancel import CancelToken
from engine.device import select_device
from engine.errors import ReviveError
from engine.restoration.detection import DamageDetector, apply_rule
from engine.restoration.detector_file import DetectorCard, load_detector, save_detector
from engine.restoration.detector_net import DamageUNet
from training.data.photo_folder import list_photos, split_photos
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted, ValidationDone
from training.install_record import file_digest, record
from training.restoration.detector_config import DetectorTrainingConfig, detector_run_dir, out_problem
from training.restoration.detector_data import load_luma_cache, make_batch, spread, tuning_split, validation_set
from training.schedule import warmup_cosine

log = logging.getLogger(__name__)

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
CONFIRMS = (None, 0.8, 0.9, 0.95)  # None: the threshold itself (no hysteresis)
MIN_AREAS = (2, 4, 8, 16)
MIN_SHARES = (0.0, 0.0005, 0.001, 0.002, 0.004)


def run_dir_for(config: DetectorTrainingConfig) -> Path:
    return detector_run_dir(config)


def learning_rate_factor(step: int, total: int) -> float:
    """Linear warm-up, then cosine decay to 2 % of the peak (``training.schedule``)."""
    return warmup_cosine(step, total, 0.02)


def detector_loss(
    logits: torch.Tensor, targets: torch.Tensor, dice_weight: float, hard_negative_weight: float = 0.0
) -> dict[str, torch.Tensor]:
    """Weighted cross-entropy and soft Dice of ``(N, 1, S, S)`` logits against 0/1 targets."""
    probability = torch.sigmoid(logits)
    weight = 1.0 + hard_negative_weight * probability.detach() * (1.0 - targets)
    bce = F.binary_cross_entropy_with_logits(logits, targets, weight=weight)
    overlap = (probability * targets).sum()
    dice = 1.0 - (2.0 * overlap + 1.0) / (probability.sum() + targets.sum() + 1.0)
    return {"bce": bce, "dice": dice, "total": bce + dice_weight * dice}


def _save_state(path: Path, model, optimizer, step: int) -> None:
    with atomic_file(path) as handle:
        torch.save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": torch.tensor(step)}, handle
        )


DAMAGED_RUN = "the saved run in {} is damaged; start again without --resume (or delete that folder)"


def load_state(path: Path) -> dict:
    """A saved run's state, loaded safely (tensors only) and checked; ReviveError in one line."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - unpickling errors have many types; all mean "damaged"
        log.info("cannot load %s: %s", path, error)
        raise ReviveError(DAMAGED_RUN.format(path.parent)) from None
    expected = {"model": dict, "optimizer": dict, "step": torch.Tensor}
    if not isinstance(state, dict) or any(not isinstance(state.get(k), t) for k, t in expected.items()):
        raise ReviveError(DAMAGED_RUN.format(path.parent))
    step = state["step"]
    if step.numel() != 1 or step.dtype not in (torch.int64, torch.int32) or not 0 <= int(step) <= 10_000_000:
        raise ReviveError(DAMAGED_RUN.format(path.parent))
    return state


@torch.inference_mode()
def probabilities(model: DamageUNet, images: np.ndarray, batch: int = 8) -> np.ndarray:
    """Damage probabilities ``(N, S, S)`` float32 for luma ``(N, S, S)`` float32 in [0, 1] (fp32)."""
    model.eval()
    out = []
    for start in range(0, len(images), batch):
        x = torch.from_numpy(images[start : start + batch])[:, None] - 0.5
        out.append(torch.sigmoid(model(x)).numpy()[:, 0])
    return np.concatenate(out)


def inference_probabilities(model: DamageUNet, card: DetectorCard, images: np.ndarray) -> np.ndarray:
    """Probabilities ``(N, S, S)`` for luma ``(N, S, S)`` float32 in [0, 1] exactly as the scratch
    stage computes them (both passes, ``DamageDetector.probability_map``), so the rule chosen on
    them is the rule that runs."""
    detector = DamageDetector(model.eval(), card)
    return np.stack([detector.probability_map(np.round(i * 255).astype(np.uint8), max(i.shape)) for i in images])


def score_rule(
    damaged_p: np.ndarray,
    masks: np.ndarray,
    clean_p: np.ndarray,
    *,
    threshold: float,
    confirm: float,
    min_area: int,
    min_share: float = 0.0,
) -> dict[str, float]:
    """IoU (summed over the set), precision and recall on damaged photos; the share of clean photos
    given any mask and the share of their pixels flagged."""
    inter = union = found = truth = 0
    for p, m in zip(damaged_p, masks, strict=True):
        mask = apply_rule(p, threshold, confirm, min_area, min_share)
        inter += int((mask & m).sum())
        union += int((mask | m).sum())
        found += int(mask.sum())
        truth += int(m.sum())
    flagged_photos = flagged_pixels = 0
    for p in clean_p:
        mask = apply_rule(p, threshold, confirm, min_area, min_share)
        flagged_photos += bool(mask.any())
        flagged_pixels += int(mask.sum())
    return {
        "iou": inter / max(1, union),
        "precision": inter / max(1, found),
        "recall": inter / max(1, truth),
        "clean_photos_flagged": flagged_photos / max(1, len(clean_p)),
        "clean_pixels_flagged": flagged_pixels / max(1, clean_p.size),
    }


def pareto(rows: list[dict]) -> list[dict]:
    """The rules no other rule beats on both counts (more IoU, fewer clean photos flagged), by
    clean photos flagged: what the card keeps of the sweep."""
    front, best_iou = [], -1.0
    for row in sorted(rows, key=lambda r: (r["clean_photos_flagged"], -r["iou"])):
        if row["iou"] > best_iou:
            front.append(row)
            best_iou = row["iou"]
    return front


def choose_rule(damaged_p, masks, clean_p, clean_budget: float) -> tuple[dict, list[dict]]:
    """The best post-processing rule (highest IoU with clean photos flagged within the budget;
    failing that, the fewest clean photos flagged), and every rule's scores."""
    rows = []
    for threshold, level, min_area, min_share in itertools.product(THRESHOLDS, CONFIRMS, MIN_AREAS, MIN_SHARES):
        confirm = threshold if level is None else level
        if confirm < threshold:
            continue
        rows.append(
            {
                "threshold": threshold,
                "confirm": confirm,
                "min_area": min_area,
                "min_share": min_share,
                **score_rule(
                    damaged_p,
                    masks,
                    clean_p,
                    threshold=threshold,
                    confirm=confirm,
                    min_area=min_area,
                    min_share=min_share,
                ),
            }
        )
    within = [r for r in rows if r["clean_photos_flagged"] <= clean_budget]
    best = (
        max(within, key=lambda r: r["iou"])
        if within
        else min(rows, key=lambda r: (r["clean_photos_flagged"], -r["iou"]))
    )
    return best, rows


def train_detector(config: DetectorTrainingConfig, cancel: CancelToken | None = None) -> Iterator[object]:
    """Train (or resume) a damage detector and write it to ``config.out``."""
    cancel = cancel or CancelToken()
    run_dir = run_dir_for(config)
    state_path = run_dir / "state.pt"
    if state_path.exists() and not config.resume:
        # The default folder follows --name, not --out: a new --out alone lands on the old run.
        raise ReviveError(
            f"a training run already exists in {run_dir}: add --resume to continue it, or start a new run"
            " in a folder of its own with --run-dir DIR"
        )
    if config.resume and not state_path.exists():
        raise ReviveError(f"there is no saved run to resume in {run_dir}")
    problem = out_problem(config)  # before any photo is read, so no time is spent on a run that cannot finish
    if problem:
        raise ReviveError(problem)
    torch.set_num_threads(config.threads)
    import cv2

    cv2.setNumThreads(config.threads)
    choice = select_device(config.device)
    device, dtype = choice.device, choice.dtype
    train_paths, held_out = split_photos(list_photos(config.photos))
    if not train_paths:
        raise ReviveError(f"no photos found in {config.photos}")
    state = load_state(state_path) if config.resume else None
    chosen = spread(train_paths, config.max_photos)
    cache = load_luma_cache(chosen, config.cache_size)
    tuning, _ = tuning_split(held_out)
    validation_clean = load_luma_cache(spread(tuning, config.validation_images), config.validation_size)
    validation_damaged, validation_masks = validation_set(validation_clean, config.seed)
    run_dir.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(config.seed)
    model = DamageUNet(**config.architecture_arguments).to(device)
    if config.init_from is not None and state is None:
        start, start_card = load_detector(config.init_from)
        if start_card.arguments != config.architecture_arguments:
            raise ReviveError(f"{Path(config.init_from).name} has other widths or dilations than this run asks for")
        model.load_state_dict(start.state_dict())
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=1e-5)
    step = 0
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            log.info("state does not match: %s", error)
            raise ReviveError(
                f"the saved run in {run_dir} does not match these options; start again without --resume"
            ) from None
        step = int(state["step"])
    yield TrainingStarted(run_dir, step, config.steps, choice.description, len(cache), len(validation_clean))

    started = time.monotonic()
    recent: list[float] = []
    while step < config.steps:
        if cancel.cancelled:
            _save_state(state_path, model, optimizer, step)
            yield CheckpointSaved(step, state_path)
            yield TrainingFinished(step, None, cancelled=True)
            return
        tick = time.monotonic()
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * learning_rate_factor(step, config.steps)
        batch = make_batch(
            cache, config.batch_size, config.size, seed=config.seed, step=step, undamaged_share=config.undamaged_share
        )
        inputs = torch.from_numpy(batch.inputs).to(device)
        targets = torch.from_numpy(batch.targets).to(device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(inputs)
        losses = detector_loss(logits.float(), targets, config.dice_weight, config.hard_negative_weight)
        if not torch.isfinite(losses["total"]):
            raise ReviveError(f"training diverged at step {step}; try a lower learning rate")
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        optimizer.step()
        step += 1
        recent = [*recent, time.monotonic() - tick][-50:]
        per_step = sum(recent) / len(recent)
        yield StepDone(
            step,
            config.steps,
            {k: v.item() for k, v in losses.items() if k != "total"},
            per_step,
            per_step * (config.steps - step),
        )
        if step % config.checkpoint_every == 0 or step == config.steps:
            _save_state(state_path, model, optimizer, step)
            yield CheckpointSaved(step, state_path)
        if step % config.validate_every == 0 and step != config.steps:
            damaged_p = probabilities(model, validation_damaged[:32])
            clean_p = probabilities(model, validation_clean[:32])
            yield ValidationDone(
                step, score_rule(damaged_p, validation_masks[:32], clean_p, threshold=0.5, confirm=0.5, min_area=4)
            )
    log.info("trained to step %d in %.0f s", step, time.monotonic() - started)
    provisional = DetectorCard(name=config.name, architecture="damage_unet", arguments=config.architecture_arguments)
    damaged_p = inference_probabilities(model.cpu(), provisional, validation_damaged)
    clean_p = inference_probabilities(model, provisional, validation_clean)
    best, rows = choose_rule(damaged_p, validation_masks, clean_p, config.clean_budget)
    yield ValidationDone(step, best)
    card = _card(
        config, train_count=len(cache), validation_count=len(validation_clean), step=step, best=best, rows=rows
    )
    path = _install(config, run_dir, model.cpu().eval(), card)
    yield TrainingFinished(step, path, metrics=card.metrics)


def _install(config: DetectorTrainingConfig, run_dir: Path, model: DamageUNet, card: DetectorCard) -> Path:
    """Write the detector to ``config.out`` if nothing there would be lost (checked again: a file
    may have appeared during the run), and record what was written so a rerun may replace it."""
    problem = out_problem(config)
    if problem:
        raise ReviveError(
            f"{problem} (the trained run is kept in {run_dir}: add --resume to install it without training again)"
        )
    taken = os.path.lexists(config.out) or os.path.lexists(Path(config.out).with_suffix(".json"))
    path = save_detector(config.out, model, card, replace=taken)  # taken: by this run's own file, or --force
    # Recorded after the write (the bytes are made inside save_detector): a run stopped in between
    # takes its own file for a stranger's and refuses, the safe side.
    record(run_dir, [d for d in (file_digest(path), file_digest(path.with_suffix(".json"))) if d is not None])
    return path


def _card(
    config: DetectorTrainingConfig, *, train_count: int, validation_count: int, step: int, best: dict, rows: list[dict]
) -> DetectorCard:
    return DetectorCard(
        name=config.name,
        architecture="damage_unet",
        arguments=config.architecture_arguments,
        threshold=float(best["threshold"]),
        confirm=float(best["confirm"]),
        min_area=int(best["min_area"]),
        min_share=float(best["min_share"]),
        description="Revive's damage detector: marks scratches, cracks, dust, fibres, folds and torn corners "
        "on a photo's luminance, for the scratch stage to fill.",
        trained_on=f"{train_count} photos from {Path(config.photos).name}/ with damage drawn on the fly "
        "(engine.restoration.damage); held-out split by file-name hash",
        training={
            **{
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in asdict(config).items()
                if k not in ("run_dir", "resume", "out", "force")
            },
            "steps_done": step,
            "loss": f"binary cross-entropy (clean pixels weighted 1 + {config.hard_negative_weight} x p)"
            f" + {config.dice_weight} x soft Dice",
        },
        metrics={
            "tuned_on": f"{validation_count} held-out photos (tuning half) at {config.validation_size} px, "
            "damaged with a fixed seed, and the same photos clean",
            "chosen": best,
            "clean_budget": config.clean_budget,
            "rules_swept": len(rows),
            "pareto_front": pareto(rows),
        },
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def retune_detector(
    path: Path,
    photos: Path,
    *,
    validation_images: int = 192,
    validation_size: int = 256,
    clean_budget: float = 0.02,
    seed: int = 0,
    threads: int = 1,
) -> DetectorCard:
    """Choose a detector file's threshold rule again (weights unchanged) on the tuning half of the
    held-out photos of ``photos``, and rewrite the file; returns the new card."""
    import dataclasses

    torch.set_num_threads(threads)

    module, card = load_detector(path)
    _, held_out = split_photos(list_photos(photos))
    tuning, _ = tuning_split(held_out)
    clean = load_luma_cache(spread(tuning, validation_images), validation_size)
    damaged, masks = validation_set(clean, seed)
    best, rows = choose_rule(
        inference_probabilities(module, card, damaged),
        masks,
        inference_probabilities(module, card, clean),
        clean_budget,
    )
    metrics = {
        **{k: v for k, v in card.metrics.items() if k not in ("sweep", "pareto_front", "chosen")},
        "tuned_on": f"{len(clean)} held-out photos (tuning half) of {Path(photos).name}/ at "
        f"{validation_size} px,"
        " damaged with a fixed seed, and the same photos clean; both detection passes",
        "chosen": best,
        "clean_budget": clean_budget,
        "rules_swept": len(rows),
        "pareto_front": pareto(rows),
    }
    new = dataclasses.replace(
        card,
        threshold=float(best["threshold"]),
        confirm=float(best["confirm"]),
        min_area=int(best["min_area"]),
        min_share=float(best["min_share"]),
        training={**card.training, "clean_budget": clean_budget},
        metrics=metrics,
    )
    save_detector(path, module, new)
    return new
