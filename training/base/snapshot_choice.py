"""Which of a run's snapshots to install: the one that colours photos it never trained on best.

Measured on revive-base v2.4 (README, "Tried"; ``tune_decoding.py --split``): at about half the
originals' colour it beats the gray copy by CIEDE2000 0.99 on 384 photos of its own training
folder it trained on, and by 0.42 on 384 held-out ones: it learns the photos it sees rather than
colour in general, so later weights can be worse on new photos (a warm restart of v2 got worse on
val with every snapshot; v2.3 was the first of three snapshots). So
every snapshot (the averaged weights at a validation step) is scored on the photos the decoding is
chosen on, at a few chroma scales around the run's decoding so that a snapshot that is merely more
colourful is not mistaken for a better one, and the best is what is installed (``--keep-last``
installs the last one instead).

The score is kept in the snapshot's own model card (``metrics.snapshot_score``), so a resumed run
still compares every snapshot; it is read back field by field (a run folder is user-writable), and
a snapshot whose score is missing or malformed is left out of the choice, never trusted.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.batch.settings import DEFAULT_TEMPERATURE
from engine.cancel import CancelToken
from engine.device import DeviceChoice
from engine.errors import ModelFileError
from engine.models.card import ModelCard, read_card
from engine.models.files import load_model
from training.base.config import BaseTrainingConfig
from training.decoding_sweep import Decoding, choose, grid, sweep

log = logging.getLogger(__name__)

SCORE_FIELD = "snapshot_score"
# What choose() and bars_met() read from a summary (engine.metrics.summarize).
SUMMARY_KEYS = (
    "psnr",
    "gray_psnr",
    "ciede2000",
    "gray_ciede2000",
    "better_than_gray",
    "colourfulness_ratio",
    "almost_gray",
    "mean_a_error",
    "mean_b_error",
)
SCALE_FACTORS = (0.85, 1.0, 1.2)  # around the run's chroma scale: compare snapshots at like colour


def scoring_decodings(config: BaseTrainingConfig, start: Decoding | None) -> tuple[Decoding, ...]:
    """The decodings a snapshot is scored with: the continued model's own (``start``) or, from
    scratch, the middle of the export sweep's grid, each at ``SCALE_FACTORS`` of its chroma scale."""
    if start is None:
        sizes, priors = config.render_sizes, config.prior_corrections
        temperature = DEFAULT_TEMPERATURE if DEFAULT_TEMPERATURE in config.temperatures else config.temperatures[0]
        start = Decoding(sizes[len(sizes) // 2], temperature, priors[len(priors) // 2])
    scales = sorted({round(start.chroma_scale * f, 3) for f in SCALE_FACTORS})
    return grid(
        (start.render_size,),
        (start.temperature,),
        (start.prior_correction,),
        [s for s in scales if 0 < s <= 3],
        (start.confidence_gamma,),
        (start.flip_average,),
        (start.lightness_rolloff,),
    )


def score_snapshot(
    module: torch.nn.Module,
    card: ModelCard,
    device: DeviceChoice,
    photos: Sequence[tuple[Path, np.ndarray]],
    decodings: Sequence[Decoding],
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Score averaged weights (a copy of ``module`` is used; it is not moved) on ``photos`` (colour
    originals ``(H, W, 3)`` uint8) with every decoding; returns the best decoding's label and
    summary, ``{"decoding": label, "photos": n, "summary": {...}}``. Cancelled when ``cancel`` is set."""
    from engine.models.colorizer import Colorizer

    colorizer = Colorizer(copy.deepcopy(module).eval(), card, device)
    summaries: dict[Decoding, dict[str, float]] = {}
    for _, result in sweep(colorizer, photos, decodings, cancel=cancel):
        summaries = result or summaries
    best = choose(summaries)
    summary = {key: float(summaries[best][key]) for key in SUMMARY_KEYS}
    return {"decoding": best.label, "photos": len(photos), "summary": summary}


def valid_score(value: object) -> dict[str, Any] | None:
    """A snapshot score read from a card, or None unless every field is what ``score_snapshot`` writes."""
    if not isinstance(value, dict):
        return None
    summary, label, photos = value.get("summary"), value.get("decoding"), value.get("photos")
    if not isinstance(label, str) or len(label) > 200 or not isinstance(summary, dict):
        return None
    if isinstance(photos, bool) or not isinstance(photos, int) or photos < 1:
        return None
    numbers = {}
    for key in SUMMARY_KEYS:
        number = summary.get(key)
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            return None
        numbers[key] = float(number)
    return {"decoding": label, "photos": photos, "summary": numbers}


def snapshot_path(folder: Path, step: int) -> Path:
    """Where a run keeps its averaged weights of ``step``: ``folder/step-NNNNNN.safetensors``."""
    return Path(folder) / f"step-{step:06d}.safetensors"


def _snapshot_cards(folder: Path, last_step: int | None = None) -> dict[int, ModelCard]:
    """step -> card of the readable snapshots ``folder/step-N.safetensors`` (N up to ``last_step``)."""
    cards: dict[int, ModelCard] = {}
    if not folder.is_dir():
        return cards
    for path in sorted(folder.glob("step-*.safetensors")):
        digits = path.stem.removeprefix("step-")
        if not digits.isdigit() or int(digits) < 1 or (last_step is not None and int(digits) > last_step):
            continue
        try:
            cards[int(digits)] = read_card(path)
        except (ModelFileError, OSError) as error:
            log.warning("snapshot %s left out of the choice: %s", path.name, error)
    return cards


def scored_snapshots(folder: Path, config: BaseTrainingConfig, last_step: int, photos: int) -> dict[int, dict]:
    """The run's snapshots (``folder/step-N.safetensors``, N up to ``last_step``) that were scored
    on as many photos (``photos``) of the same ``--tune`` folder by a run of this model: step -> score. Damaged files, another
    architecture and malformed scores are left out with a log line."""
    found: dict[int, dict] = {}
    for step, card in _snapshot_cards(folder, last_step).items():
        score = valid_score(card.metrics.get(SCORE_FIELD))
        tuned_on = str(config.tune_photos) if config.tune_photos else None
        if card.name != config.name or card.arguments != config.architecture_arguments:
            log.warning("snapshot step-%06d is of another model; left out of the choice", step)
        elif score is None or score["photos"] != photos or card.training.get("tune_photos") != tuned_on:
            log.info("snapshot step-%06d has no score on these photos; left out of the choice", step)
        else:
            found[step] = score
    return found


def best_snapshot_file(folder: Path) -> Path | None:
    """For a run stopped before it installed anything (the GPU run's time cap): its best snapshot
    among those scored like the newest one, else the newest; None when there is none."""
    cards = _snapshot_cards(Path(folder))
    if not cards:
        return None
    newest = max(cards)
    reference = valid_score(cards[newest].metrics.get(SCORE_FIELD))
    scores = {}
    for step, card in cards.items():
        score = valid_score(card.metrics.get(SCORE_FIELD))
        if reference and score and score["photos"] == reference["photos"] and card.arguments == cards[newest].arguments:
            scores[step] = score
    step = best_step(scores) if scores else newest
    return snapshot_path(folder, step)


def best_step(scores: dict[int, dict]) -> int:
    """The step whose score is best by the decoding sweep's own rule (``choose``: the product's
    floors cleared, then the lowest CIEDE2000); the later step on a tie."""
    ranked = {step: scores[step]["summary"] for step in sorted(scores, reverse=True)}
    return choose(ranked)


def load_snapshot(path: Path, config: BaseTrainingConfig) -> torch.nn.Module | None:
    """A snapshot's weights (fp32, CPU), or None (with a log line) when the file is unusable."""
    try:
        module, card = load_model(path)
    except ModelFileError as error:
        log.warning("the chosen snapshot cannot be read (%s); keeping the last weights", error)
        return None
    if card.arguments != config.architecture_arguments:
        log.warning("the chosen snapshot %s is of another model; keeping the last weights", path.name)
        return None
    return module
