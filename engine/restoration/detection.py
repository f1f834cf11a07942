"""Finding damage: the detector network on a working copy, a threshold, a minimum area.

The photo's luma is shrunk (area averaging) so its short side is at most ``detect_size``: the
scale the detector was trained at, where a scratch is 1-3 px wide. The network runs tile by tile
(``TILE`` px with ``CONTEXT`` px of context, more than its receptive field, so tiles agree with a
one-pass run), and its probabilities become a mask by hysteresis: a pixel is damage when its
probability reaches the threshold and its connected area (8-neighbour) has at least ``min_area``
pixels and reaches the ``confirm`` level somewhere. Isolated doubtful pixels, the usual false
alarms on a clean photo (a catch-light in an eye, a bright window), fail the area or peak rule.
A second pass on a half-size copy helps with damage wider than the first pass was trained for
(a scratch of 4-6 px at the working size is 2-3 px there); its probabilities count half
(``HALF_WEIGHT``), so at the default sensitivity (the shipped card confirms at 0.8) they extend an
area the first pass confirms but never confirm one alone. That keeps them from adding false
alarms on clean photos (3.1 % of the held-out photos flagged with and without it, measured with
the run-2 weights), and it also means that damage the first pass misses entirely stays missed:
choose ``detect_size`` so that scratches are 1-3 px wide at the working size. The mask is
scaled back to the full resolution (bilinear, generous at 0.25 so the fill covers a scratch's
soft edge).

The card's threshold and confirm level were chosen at export (``training.restoration``); the
user's ``strength`` shifts both in logit terms: 0.5 keeps them, 1 lowers them by 2 logits (more
found), 0 raises them by 2; the photo-level minimum share scales by 2 x (1 - strength).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine.cancel import CancelToken
from engine.restoration.detector_file import DetectorCard, default_detector_path, load_detector
from engine.restoration.stages import ScratchOptions
from engine.restoration.tiling import Tile, map_tiles, tile_count

log = logging.getLogger(__name__)

TILE = 512
CONTEXT = 48  # > the network's receptive-field radius (about 40 px)
STRENGTH_LOGITS = 4.0  # strength 0..1 shifts the thresholds by +2..-2 logits
UPSCALE_LEVEL = 0.25
HALF_WEIGHT = 0.5  # the half-size pass's probabilities count this much (below the card's confirm level)
HALF_MIN_SIDE = 32  # no half-size pass below this short side


def _shift(probability: float, logits: float) -> float:
    logit = math.log(probability / (1.0 - probability)) + logits
    return 1.0 / (1.0 + math.exp(-logit))


def working_shape(height: int, width: int, detect_size: int) -> tuple[int, int]:
    """(h, w) of the copy the detector sees: short side at most ``detect_size``, never enlarged."""
    scale = min(1.0, detect_size / min(height, width))
    return max(4, round(height * scale)), max(4, round(width * scale))


def apply_rule(
    probability: np.ndarray, threshold: float, confirm: float, min_area: int, min_share: float
) -> np.ndarray:
    """``mask_from_probability``, then the photo-level minimum: an empty mask when the damage
    covers less than ``min_share`` of the photo."""
    mask = mask_from_probability(probability, threshold, confirm, min_area)
    return mask if mask.any() and mask.mean() >= min_share else np.zeros(probability.shape, bool)


def mask_from_probability(probability: np.ndarray, threshold: float, confirm: float, min_area: int) -> np.ndarray:
    """``(h, w)`` bool damage mask from ``(h, w)`` float32 probabilities by the hysteresis and
    minimum-area rule (see the module docstring)."""
    candidates = (probability >= threshold).astype(np.uint8)
    if not candidates.any():
        return np.zeros(probability.shape, bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    peaks = np.zeros(count, np.float32)
    np.maximum.at(peaks, labels.ravel().astype(np.intp, copy=False), probability.ravel())
    keep = (stats[:, cv2.CC_STAT_AREA] >= min_area) & (peaks >= confirm)
    keep[0] = False  # label 0 is the background
    return keep[labels]


class DamageDetector:
    """A loaded damage detector on a device. Load once, call per photo; not thread-safe."""

    def __init__(
        self, module: torch.nn.Module, card: DetectorCard, device: torch.device | None = None, path: Path | None = None
    ) -> None:
        self.card = card
        self.path = path
        self.device = device or torch.device("cpu")
        self._module = module.to(self.device).eval()

    @classmethod
    def load(cls, path: Path | None = None, device: torch.device | None = None) -> DamageDetector:
        """The detector in ``path`` (default: the shipped one). ModelFileError when it cannot be used."""
        path = Path(path) if path is not None else default_detector_path()
        module, card = load_detector(path)
        log.info("loaded damage detector %s (%s)", card.name, path)
        return cls(module, card, device, path)

    def units(self, height: int, width: int, options: ScratchOptions) -> int:
        """How many units of work ``detect`` reports for a photo of this size."""
        h, w = working_shape(height, width, options.detect_size)
        half = tile_count(h // 2, w // 2, TILE) if min(h, w) // 2 >= HALF_MIN_SIDE else 0
        return tile_count(h, w, TILE) + half

    @torch.inference_mode()
    def probability(
        self, small: np.ndarray, cancel: CancelToken | None = None, step: Callable[[], None] | None = None
    ) -> np.ndarray:
        """Damage probabilities ``(h, w)`` float32 in [0, 1] for ``small`` ``(h, w)`` float32 luma
        in [0, 1] at detection scale."""
        cancel = cancel or CancelToken()
        multiple = int(getattr(self._module, "size_multiple", 4))

        def one(piece: np.ndarray, where: Tile) -> np.ndarray:
            h, w = piece.shape
            x = torch.from_numpy(np.ascontiguousarray(piece))[None, None] - 0.5
            pad_h, pad_w = (-h) % multiple, (-w) % multiple
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if pad_h < h and pad_w < w else "replicate")
            logits = self._module(x.to(self.device)).float()[0, 0, :h, :w]
            return torch.sigmoid(logits).cpu().numpy()

        return map_tiles(small, one, TILE, CONTEXT, cancel, step=step, out=np.zeros(small.shape, np.float32))

    def probability_map(
        self,
        luma: np.ndarray,
        detect_size: int,
        cancel: CancelToken | None = None,
        step: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """Damage probabilities ``(h, w)`` float32 of ``luma`` ``(H, W)`` uint8/uint16 at the
        working size (``working_shape``): the full pass and the half-size pass combined."""
        height, width = luma.shape
        top = 255.0 if luma.dtype == np.uint8 else 65535.0
        h, w = working_shape(height, width, detect_size)
        small: np.ndarray = luma.astype(np.float32) / top
        if (h, w) != (height, width):
            small = cv2.resize(small, (w, h), interpolation=cv2.INTER_AREA)
        probability = self.probability(small, cancel, step)
        if min(h, w) // 2 >= HALF_MIN_SIDE:
            half = cv2.resize(small, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            wide = cv2.resize(self.probability(half, cancel, step), (w, h), interpolation=cv2.INTER_LINEAR)
            probability = np.maximum(probability, HALF_WEIGHT * wide)
        return probability

    def detect(
        self,
        luma: np.ndarray,
        options: ScratchOptions,
        cancel: CancelToken | None = None,
        step: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """The damage mask ``(H, W)`` bool of ``luma`` ``(H, W)`` uint8/uint16."""
        height, width = luma.shape
        probability = self.probability_map(luma, options.detect_size, cancel, step)
        h, w = probability.shape
        shift = STRENGTH_LOGITS * (0.5 - options.strength)
        threshold = _shift(self.card.threshold, shift)
        confirm = max(threshold, _shift(self.card.confirm, shift))
        # The photo-level minimum: a few specks on an otherwise clean photo are more often a
        # catch-light or a button than dust. Sensitivity lowers it (none at strength 1).
        min_share = self.card.min_share * 2.0 * (1.0 - options.strength)
        mask = apply_rule(probability, threshold, confirm, self.card.min_area, min_share)
        if (h, w) == (height, width) or not mask.any():
            return mask if mask.shape == luma.shape else np.zeros(luma.shape, bool)
        large = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        return large > UPSCALE_LEVEL
