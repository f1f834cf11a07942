"""The two unpaired folders as training data: in-memory square caches, batches by step, previews.

Each folder's held-out photos (``dataset_check.choose_holdout``: by file-name hash, among readable
files) are kept out of training: the old folder's become the before/after previews, the colour
folder's the photos on which base and fine-tuned models are scored (``training.cyclegan.scores``).
Batches are a pure function of (seed, step), so a resumed run draws the same batches as an
uninterrupted one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from engine.cancel import CancelToken
from engine.errors import ReviveError
from engine.imaging.tint import classify
from training.cyclegan.parts import uint8_to_rgb11
from training.data.dataset_check import choose_holdout, holdout_order, list_images
from training.data.photo_folder import map_files, open_rgb, square

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainData:
    """One folder, loaded. ``cache``: ``(N, C, C, 3)`` uint8 sRGB squares (C = config.cache_size) of
    ``train_paths`` (in that order); ``previews``: the held-out photos as (file name, ``(h, w, 3)``
    uint8 sRGB, as the loader made them), ``held_out`` their paths. No path is in both."""

    folder: Path
    cache: np.ndarray
    previews: tuple[tuple[str, np.ndarray], ...]
    train_paths: tuple[Path, ...] = ()
    held_out: tuple[Path, ...] = ()

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
    return np.asarray(ImageOps.fit(image, (w, h), Image.Resampling.BICUBIC))


def load_domain(
    folder: Path,
    config,
    role: str,
    *,
    holdout: int | None = None,
    holdout_image: Callable[[Path], np.ndarray | None] | None = None,
    colour_only: bool = False,
    workers: int = 2,
    cancel: CancelToken | None = None,
) -> DomainData:
    """Load a folder's training cache and its held-out photos; ReviveError when too little is readable.

    ``holdout`` photos (default ``config.preview_count``) are held out, each loaded by
    ``holdout_image(path)`` (default: ``preview_image`` at ``config.preview_size``; None = unreadable,
    the next one in hash order is taken instead). ``colour_only``: gray and tinted photos
    (``engine.imaging.tint.classify``) are not trained on: as colour targets they teach gray or sepia.
    ``Cancelled`` as soon as ``cancel`` is set (checked before each file is read)."""
    paths = list_images(folder)
    if not paths:
        raise ReviveError(f"no photos found in the {role} folder {folder}")
    count = config.preview_count if holdout is None else holdout
    load = holdout_image or (lambda path: preview_image(path, config.preview_size))
    previews: list[tuple[str, np.ndarray]] = []
    held: list[Path] = []
    wanted = len(choose_holdout(paths, count))
    # Same rule as dataset_check: the first readable files in hash order are held out.
    for path in holdout_order(paths):
        if len(previews) >= wanted:
            break
        if cancel is not None:
            cancel.raise_if_cancelled()
        image = load(path)
        if image is not None:
            previews.append((path.name, image))
            held.append(path)
    kept = set(held)
    train = sorted([p for p in holdout_order(paths) if p not in kept][: config.max_images])
    squares = map_files(lambda p: square(p, config.cache_size), train, workers, cancel)
    loaded = [(p, im) for p, im in zip(train, squares, strict=True) if im is not None]
    if colour_only:
        kept_colour = [(p, im) for p, im in loaded if classify(im)[0] == "colour"]
        if len(kept_colour) < len(loaded):
            log.info("%s: %d gray or tinted photos not trained on", role, len(loaded) - len(kept_colour))
        loaded = kept_colour
    if not loaded:
        raise ReviveError(f"no readable photos to train on in the {role} folder {folder}")
    return DomainData(
        Path(folder), np.stack([im for _, im in loaded]), tuple(previews), tuple(p for p, _ in loaded), tuple(held)
    )


def make_batch(cache: torch.Tensor, config, step: int, salt: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Random crops and flips for ``step``: ``(N, 3, S, S)`` float32 RGB in [-1, 1] (S = config.size).

    ``cache``: ``(M, C, C, 3)`` uint8; ``salt`` separates the two domains' draws; ``weights``
    ``(M,)``: each photo's probability (None: uniform)."""
    generator = torch.Generator().manual_seed((config.seed * 1_000_003 + step) * 2 + salt)
    count, side = cache.shape[0], cache.shape[1]
    if weights is None:
        index = torch.randint(count, (config.batch_size,), generator=generator)
    else:
        index = torch.multinomial(weights, config.batch_size, replacement=True, generator=generator)
    y = torch.randint(0, side - config.size + 1, (config.batch_size,), generator=generator)
    x = torch.randint(0, side - config.size + 1, (config.batch_size,), generator=generator)
    flip = torch.rand(config.batch_size, generator=generator) < 0.5
    crops = []
    for i in range(config.batch_size):
        crop = cache[index[i], y[i] : y[i] + config.size, x[i] : x[i] + config.size]
        crops.append(crop.flip(1) if flip[i] else crop)
    return uint8_to_rgb11(torch.stack(crops))
