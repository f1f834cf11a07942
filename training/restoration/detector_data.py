"""Training data for the damage detector: clean photos' luma, damage drawn per step, old-scan looks.

Each step's batch is a pure function of (seed, step), so a resumed run continues the same
sequence. A crop gets random local damage (``engine.restoration.damage``), and its mask is taken
*before* the whole-photo degradations that follow (fading, blur, grain, JPEG), which make the
crop look like an old scan without moving the answer: the detector learns to find damage on old
photos, not to mark grain. ``undamaged_share`` of the crops stay clean, with an empty mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.restoration.damage import DamageSettings, add_grain, damage_photo, jpeg_roundtrip
from training.data.photo_folder import load_square_cache, name_digest


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of ``(..., 3)`` uint8 sRGB as float32 in [0, 1] (Pillow's 'L' weights)."""
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32) / 255.0


def load_luma_cache(paths: list[Path], size: int) -> np.ndarray:
    """``(N, size, size)`` float32 luma in [0, 1]: the photos' centre squares (unreadable skipped)."""
    return luma_of(load_square_cache(paths, size, workers=1))


def spread(paths: list[Path], count: int) -> list[Path]:
    """``count`` paths evenly spread over ``paths`` (a sorted folder groups its sources)."""
    if len(paths) <= count:
        return list(paths)
    return [paths[int(i * len(paths) / count)] for i in range(count)]


def tuning_split(held_out: list[Path]) -> tuple[list[Path], list[Path]]:
    """(tuning, test) halves of the held-out photos, by a second hash of the file name: the
    detector's threshold rule is chosen on the first, ``benchmarks/restoration.py`` reports on the
    second, so the reported figures come from photos that chose nothing."""
    tuning: list[Path] = []
    test: list[Path] = []
    for path in held_out:
        (tuning if name_digest(path)[4] % 2 == 0 else test).append(path)
    return tuning, test


@dataclass(frozen=True, eq=False)
class DetectorBatch:
    """``inputs`` ``(N, 1, S, S)`` float32 luma - 0.5; ``targets`` ``(N, 1, S, S)`` float32 0/1."""

    inputs: np.ndarray
    targets: np.ndarray


def old_scan_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whole-photo degradations of an old print's scan, each applied with some probability."""
    if rng.random() < 0.5:  # fading and a tone curve
        low = rng.uniform(0.0, 0.25)
        high = rng.uniform(0.75, 1.0)
        image = low + (high - low) * np.power(image, rng.uniform(0.7, 1.4))
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.4:
        image = add_grain(image.astype(np.float32), rng, float(rng.uniform(0.005, 0.04)), float(rng.uniform(0.0, 1.0)))
    if rng.random() < 0.3:
        image = jpeg_roundtrip(image.astype(np.float32), int(rng.integers(40, 95)))
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def damaged_pair(
    clean: np.ndarray, rng: np.random.Generator, undamaged_share: float, settings: DamageSettings | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(input, mask) for one clean crop ``(S, S)`` float32: damaged and aged, and its damage mask."""
    if rng.random() < undamaged_share:
        return old_scan_look(clean, rng), np.zeros(clean.shape, bool)
    damaged = damage_photo(clean, rng, settings)
    return old_scan_look(damaged.damaged, rng), damaged.mask


def make_batch(
    cache: np.ndarray, batch_size: int, size: int, *, seed: int, step: int, undamaged_share: float
) -> DetectorBatch:
    """Random crops of ``cache`` ``(N, C, C)`` float32 (flips and quarter turns), damaged and aged."""
    rng = np.random.default_rng([seed, step])
    count, side = cache.shape[0], cache.shape[1]
    inputs = np.empty((batch_size, 1, size, size), np.float32)
    targets = np.empty((batch_size, 1, size, size), np.float32)
    for i in range(batch_size):
        photo = cache[int(rng.integers(count))]
        y, x = (int(v) for v in rng.integers(0, side - size + 1, 2))
        crop = photo[y : y + size, x : x + size]
        crop = np.rot90(crop, int(rng.integers(4)))
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        image, mask = damaged_pair(np.ascontiguousarray(crop), rng, undamaged_share)
        inputs[i, 0] = image - 0.5
        targets[i, 0] = mask
    return DetectorBatch(inputs, targets)


def validation_set(cache: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(damaged, masks) ``(N, S, S)`` for held-out squares, damage drawn with a fixed seed and no
    old-scan look: the same set at every validation and at export."""
    rng = np.random.default_rng([seed, 999_983])
    damaged = np.empty_like(cache)
    masks = np.empty(cache.shape, bool)
    for i, clean in enumerate(cache):
        pair = damage_photo(clean, rng)
        damaged[i], masks[i] = pair.damaged, pair.mask
    return damaged, masks
