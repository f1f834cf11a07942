"""Folders of colour photos for training: listing, a stable validation split, an in-memory cache.

The split is decided by a hash of each file's name, so it is the same on every machine and run, and
``benchmarks/quality.py --holdout`` can score a model on exactly the photos it never trained on.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from engine.errors import ReviveError
from engine.imaging import is_image_path

log = logging.getLogger(__name__)

HOLDOUT_PERCENT = 3


def is_holdout(path: Path, percent: int = HOLDOUT_PERCENT) -> bool:
    """True for the stable held-out share of a folder (by a hash of the file name)."""
    digest = hashlib.sha1(path.name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def list_photos(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted); ReviveError if the folder is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReviveError(f"photo folder {folder} does not exist")
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p))


def split_photos(paths: list[Path], percent: int = HOLDOUT_PERCENT) -> tuple[list[Path], list[Path]]:
    """(train, validation) by ``is_holdout``; small folders keep at least one photo on each side."""
    train = [p for p in paths if not is_holdout(p, percent)]
    validation = [p for p in paths if is_holdout(p, percent)]
    if not validation and len(train) > 1:
        validation = [train.pop()]
    if not train and len(validation) > 1:
        train = [validation.pop()]
    return train, validation


def open_rgb(path: Path, draft: int) -> Image.Image | None:
    """A photo upright in RGB, decoded at a reduced scale near ``draft`` pixels where the format
    allows (JPEG); None, with a warning, when it cannot be read."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (draft, draft))
            result = ImageOps.exif_transpose(image).convert("RGB")
            result.load()
            return result
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        log.warning("skipping %s: %s", path.name, error)
        return None


def square(path: Path, size: int) -> np.ndarray | None:
    """Centre square of a photo resized to ``size``: ``(size, size, 3)`` uint8, or None if unreadable."""
    image = open_rgb(path, size)
    return None if image is None else np.asarray(ImageOps.fit(image, (size, size), Image.BICUBIC))


def load_square_cache(paths: list[Path], size: int, workers: int = 2, return_paths: bool = False):
    """All photos, centre-cropped and resized to ``size`` squared: ``(N, size, size, 3)`` uint8 sRGB
    (and, with ``return_paths``, the paths that were readable, in the same order).

    Unreadable files are skipped with a warning; ReviveError when none is readable.
    """
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pairs = [(p, im) for p, im in zip(paths, pool.map(lambda p: square(p, size), paths)) if im is not None]
    if not pairs:
        raise ReviveError("no readable photos to train on")
    images = np.stack([im for _, im in pairs])
    return (images, [p for p, _ in pairs]) if return_paths else images
