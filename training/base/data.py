"""Training data of the base colorizer: cached photo squares, their sources, balanced sampling.

The photo folder mixes sources of very different sizes (2,736 landscapes from one source, three
photos from another); sampling uniformly over files lets the largest source set the colour prior
(the first model painted walls blue: 32 % of the landscape source's coloured pixels are blue
against 2 % in unseen photos). A photo's source is its file-name prefix before the first ``_``
(``kaggle_0001.jpg`` -> ``kaggle``). ``balance`` weights each source by ``count ** power``
(power 0.5: square-root balancing, a common middle between uniform over files, power 1, and
uniform over sources, power 0), then files uniformly within it.

Gray photos teach nothing about colour: they are dropped, and a folder of mostly gray photos is
refused (a model trained on it would be useless and still install with exit 0).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.cancel import CancelToken
from engine.errors import ReviveError
from engine.imaging.tint import classify
from training.data.photo_folder import load_square_cache

log = logging.getLogger(__name__)

MIN_COLOUR_SHARE = 0.5


def source_tag(path: Path) -> str:
    """The source of a photo by its file name: the prefix before the first ``_`` (or the stem)."""
    stem = Path(path).stem
    return stem.split("_", 1)[0] if "_" in stem else stem


@dataclass(frozen=True)
class PhotoCache:
    """Photos as ``images`` ``(N, S, S, 3)`` uint8 sRGB squares and their ``sources`` (N tags)."""

    images: torch.Tensor
    sources: tuple[str, ...]
    dropped_gray: int = 0

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def sampling_weights(self, power: float) -> torch.Tensor:
        """Probability of each photo ``(N,)`` float64 when sources are weighted by ``count ** power``."""
        counts = Counter(self.sources)
        per_source = {tag: count**power for tag, count in counts.items()}
        total = sum(per_source.values())
        weights = torch.tensor([per_source[tag] / total / counts[tag] for tag in self.sources], dtype=torch.float64)
        return weights / weights.sum()


def load_photo_cache(
    paths: list[Path], size: int, drop_gray: bool = True, cancel: CancelToken | None = None
) -> PhotoCache:
    """Decode ``paths`` into centre squares of ``size`` (``training.data.photo_folder``), drop gray ones,
    and refuse (ReviveError) a folder that is mostly gray or has too few colour photos. ``Cancelled``
    as soon as ``cancel`` is set (15,000 photos take minutes to read)."""
    squares, kept = load_square_cache(paths, size, return_paths=True, cancel=cancel)
    sources = [source_tag(p) for p in kept]
    if not drop_gray:
        return PhotoCache(torch.from_numpy(squares), tuple(sources))
    colour = np.array([classify(square[::4, ::4])[0] != "gray" for square in squares], dtype=bool)
    gray = int((~colour).sum())
    if not colour.any() or colour.mean() < MIN_COLOUR_SHARE:
        raise ReviveError(
            f"{gray} of the {len(squares)} photos are black-and-white: a colorizer learns colour from colour"
            " photos; choose a folder of colour photos"
        )
    if gray:
        log.info("dropped %d gray photos of %d", gray, len(squares))
    images = torch.from_numpy(np.ascontiguousarray(squares[colour]))
    return PhotoCache(images, tuple(s for s, c in zip(sources, colour) if c), gray)
