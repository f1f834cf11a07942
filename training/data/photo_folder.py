"""Folders of colour photos for training: listing, a stable validation split, an in-memory cache.

The split is decided by a hash of each file's name, so it is the same on every machine and run, and
``benchmarks/quality.py --holdout`` can score a model on exactly the photos it never trained on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from engine.batch.folder_scan import list_images
from engine.cancel import CancelToken
from engine.errors import ReviveError
from engine.imaging import read_rgb

log = logging.getLogger(__name__)

HOLDOUT_PERCENT = 3


def name_digest(path: Path) -> bytes:
    """The SHA-1 of a file's name (not its folder or bytes): the one hash every hold-out rule is
    drawn from (``is_holdout``, ``dataset_check.holdout_order``, the detector's tuning split), so a
    split is the same on every machine and run, wherever the folder is."""
    return hashlib.sha1(Path(path).name.encode("utf-8")).digest()


def is_holdout(path: Path, percent: int = HOLDOUT_PERCENT) -> bool:
    """True for the stable held-out share of a folder (by a hash of the file name)."""
    return int.from_bytes(name_digest(path)[:4], "big") % 100 < percent


def list_photos(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted: ``engine.batch.folder_scan.list_images``,
    so hidden files and folders, links that loop and Revive's own outputs are left out);
    ReviveError if the folder is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReviveError(f"photo folder {folder} does not exist")
    return list_images(folder)


def spread(paths: list[Path], limit: int) -> list[Path]:
    """At most ``limit`` of ``paths`` (0: all), every ``len // limit``-th, so a sorted folder named
    ``<source>_<n>`` gives photos of every source rather than the first source's."""
    if not limit:
        return list(paths)
    return list(paths[:: max(1, len(paths) // limit)][:limit])


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
    allows (JPEG), through the engine's guarded reader (``engine.imaging.read_rgb``: its pixel
    limit, regular files only); None, with a warning, when it cannot be read."""
    try:
        return read_rgb(path, draft)[0]
    except ReviveError as error:  # UnsupportedImage, ImageTooLarge: the message names the file
        log.warning("skipping %s", error)
        return None


def square(path: Path, size: int) -> np.ndarray | None:
    """Centre square of a photo resized to ``size``: ``(size, size, 3)`` uint8, or None if unreadable."""
    image = open_rgb(path, size)
    return None if image is None else np.asarray(ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC))


def map_files(function: Callable, paths: Iterable[Path], workers: int = 2, cancel: CancelToken | None = None) -> list:
    """``[function(path) for path in paths]`` on ``workers`` threads, in order. With ``cancel``, each
    file checks the token before it is read: once it is set, ``Cancelled`` is raised after the files
    in progress (at most ``workers``), and the others are never read (Stop acts at once)."""

    def one(path: Path):
        if cancel is not None:
            cancel.raise_if_cancelled()
        return function(path)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="revive-load")
    try:
        futures = [pool.submit(one, path) for path in paths]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def load_square_cache(
    paths: list[Path], size: int, workers: int = 2, return_paths: bool = False, cancel: CancelToken | None = None
):
    """All photos, centre-cropped and resized to ``size`` squared: ``(N, size, size, 3)`` uint8 sRGB
    (and, with ``return_paths``, the paths that were readable, in the same order).

    Unreadable files are skipped with a warning; ReviveError when none is readable; ``Cancelled``
    as soon as ``cancel`` is set (``map_files``).
    """
    squares = map_files(lambda p: square(p, size), paths, workers, cancel)
    pairs = [(p, im) for p, im in zip(paths, squares) if im is not None]
    if not pairs:
        raise ReviveError("no readable photos to train on")
    images = np.stack([im for _, im in pairs])
    return (images, [p for p, _ in pairs]) if return_paths else images
