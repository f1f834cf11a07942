"""The two unpaired folders as training data: in-memory square caches, batches by step, previews.

Each folder's held-out photos (``dataset_check.choose_holdout``: by file-name hash, among readable
files) are kept out of training and become the before/after previews. Batches are a pure function of
(seed, step), so a resumed run draws the same batches as an uninterrupted one.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from engine.errors import ReviveError
from training.cyclegan_parts import uint8_to_rgb11
from training.dataset_check import choose_holdout, holdout_order, list_images
from training.photo_folder import open_rgb, square

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainData:
    """One folder, loaded. ``cache``: ``(N, C, C, 3)`` uint8 sRGB squares (C = config.cache_size);
    ``previews``: held-out photos as (file name, ``(h, w, 3)`` uint8 sRGB, sides multiples of 16)."""

    folder: Path
    cache: np.ndarray
    previews: tuple[tuple[str, np.ndarray], ...]

    @property
    def count(self) -> int:
        return int(self.cache.shape[0])


def preview_image(path: Path, short_side: int) -> np.ndarray | None:
    """A photo with its short side at ``short_side`` (long side capped at 2x), both sides multiples of
    16 (the colorizer's), centre-cropped: ``(h, w, 3)`` uint8 sRGB; None if unreadable."""
    image = open_rgb(path, short_side)
    if image is None:
        return None
    scale = short_side / min(image.size)
    w = min(2 * short_side, max(16, int(image.width * scale) // 16 * 16))
    h = min(2 * short_side, max(16, int(image.height * scale) // 16 * 16))
    return np.asarray(ImageOps.fit(image, (w, h), Image.BICUBIC))


def load_domain(folder: Path, config, role: str, workers: int = 2) -> DomainData:
    """Load a folder's training cache and held-out previews; ReviveError when too little is readable."""
    paths = list_images(folder)
    if not paths:
        raise ReviveError(f"no photos found in the {role} folder {folder}")
    previews: list[tuple[str, np.ndarray]] = []
    held: set[Path] = set()
    wanted = len(choose_holdout(paths, config.preview_count))
    # Same rule as dataset_check: the first readable files in hash order are held out.
    for path in holdout_order(paths):
        if len(previews) >= wanted:
            break
        image = preview_image(path, config.preview_size)
        if image is not None:
            previews.append((path.name, image))
            held.add(path)
    train = [p for p in holdout_order(paths) if p not in held][: config.max_images]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        images = [im for im in pool.map(lambda p: square(p, config.cache_size), sorted(train)) if im is not None]
    if not images:
        raise ReviveError(f"no readable photos to train on in the {role} folder {folder}")
    return DomainData(Path(folder), np.stack(images), tuple(previews))


def make_batch(cache: torch.Tensor, config, step: int, salt: int) -> torch.Tensor:
    """Random crops and flips for ``step``: ``(N, 3, S, S)`` float32 RGB in [-1, 1] (S = config.size).

    ``cache``: ``(M, C, C, 3)`` uint8; ``salt`` separates the two domains' draws."""
    generator = torch.Generator().manual_seed((config.seed * 1_000_003 + step) * 2 + salt)
    count, side = cache.shape[0], cache.shape[1]
    index = torch.randint(count, (config.batch_size,), generator=generator)
    y = torch.randint(0, side - config.size + 1, (config.batch_size,), generator=generator)
    x = torch.randint(0, side - config.size + 1, (config.batch_size,), generator=generator)
    flip = torch.rand(config.batch_size, generator=generator) < 0.5
    crops = []
    for i in range(config.batch_size):
        crop = cache[index[i], y[i] : y[i] + config.size, x[i] : x[i] + config.size]
        crops.append(crop.flip(1) if flip[i] else crop)
    return uint8_to_rgb11(torch.stack(crops))
