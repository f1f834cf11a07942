"""Choosing how a trained colorizer decodes colour, on photos it never trained on.

The network gives a distribution over a*b* classes; how that becomes colour is a choice: the
render size (how much of the scene the network sees at once), the annealed-mean temperature, how
much of the class rebalancing to undo (``prior_correction``), a chroma scale, a confidence gate,
whether the photo's mirror image is averaged in and how much chroma is taken out toward white.
Each combination is scored on colour photos turned gray, through the engine's own pipeline
(``Colorizer.forward`` once per photo, render size and flip, then ``decode`` and the
full-resolution merge per decoding), and the choice is made against the product's bar (``BAR``)
measured against a gray copy.

Scores are computed on the merged result scaled to ``score_side`` (short side) so a sweep of
hundreds of settings stays minutes on a CPU; ``benchmarks/quality.py`` measures the chosen one at
full resolution.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from engine.batch.settings import DEFAULT_TEMPERATURE, ColorizeSettings
from engine.cancel import CancelToken
from engine.color import check_rolloff
from engine.errors import ReviveError
from engine.imaging import read_preview_rgb
from engine.metrics import colourfulness, score, summarize
from engine.models.card import ModelCard
from engine.models.chroma_merge import merge_chroma

log = logging.getLogger(__name__)


Key = TypeVar("Key")


@dataclass(frozen=True)
class Decoding:
    """How class probabilities become colour (see ``engine.models.ab_bins.annealed_mean``)."""

    render_size: int = 256
    temperature: float = DEFAULT_TEMPERATURE
    prior_correction: float = 0.0
    chroma_scale: float = 1.0
    confidence_gamma: float = 0.0
    flip_average: bool = False  # the photo and its mirror through the network, averaged (Colorizer.forward)
    lightness_rolloff: float = 0.0  # chroma taken out toward white (engine.color.rolloff_gain)

    def __post_init__(self) -> None:
        check_rolloff(self.lightness_rolloff)  # before a sweep, not in the middle of it

    @classmethod
    def of_card(cls, card: ModelCard) -> Decoding:
        """The decoding a model card holds."""
        return cls(**{name: getattr(card, name) for name in cls.__dataclass_fields__})

    def card_fields(self) -> dict[str, Any]:
        """This decoding as model-card fields (``ModelCard.with_updates(**...)``)."""
        return asdict(self)

    @property
    def label(self) -> str:
        gate = f" gate={self.confidence_gamma:g}" if self.confidence_gamma else ""
        flip = " flip" if self.flip_average else ""
        rolloff = f" rolloff={self.lightness_rolloff:g}" if self.lightness_rolloff else ""
        return (
            f"R={self.render_size} T={self.temperature:g} alpha={self.prior_correction:g}"
            f" scale={self.chroma_scale:g}{gate}{flip}{rolloff}"
        )


# The floors a shipped decoding must clear against a gray copy (issue: revive-base v2).
BAR = {
    "psnr_gain": 0.5,  # dB above the gray copy
    "ciede_gain": 1.0,  # mean CIEDE2000 below the gray copy
    "better_than_gray": 0.70,  # share of photos better than their gray copy on CIEDE2000
    "colourfulness_ratio": 0.60,  # of the originals' colourfulness
    "almost_gray": 0.0,  # share of outputs left gray
    "cast": 2.0,  # |mean a* error| and |mean b* error|, Lab units
}


def bars_met(summary: dict[str, float]) -> dict[str, bool]:
    """Which of ``BAR``'s floors a summary (``engine.metrics.summarize``) clears."""
    return {
        "psnr_gain": summary["psnr"] - summary["gray_psnr"] >= BAR["psnr_gain"],
        "ciede_gain": summary["gray_ciede2000"] - summary["ciede2000"] >= BAR["ciede_gain"],
        "better_than_gray": summary["better_than_gray"] >= BAR["better_than_gray"],
        "colourfulness_ratio": summary["colourfulness_ratio"] >= BAR["colourfulness_ratio"],
        "almost_gray": summary["almost_gray"] <= BAR["almost_gray"],
        "cast": max(abs(summary["mean_a_error"]), abs(summary["mean_b_error"])) <= BAR["cast"],
    }


def choose(summaries: dict[Key, dict[str, float]]) -> Key:
    """Among decodings that clear every floor, the one that beats the gray copy most often with
    the most colour (``better_than_gray`` + half the colourfulness ratio, capped at 1); when none
    clears them all, the one clearing the most, then the lowest CIEDE2000. (The keys may be
    anything scored so: decodings here, a run's snapshots in ``training.base.snapshot_choice``;
    on a tie the first key wins.)"""
    if not summaries:
        raise ValueError("nothing to choose from")

    def merit(d: Key) -> float:
        s = summaries[d]
        return s["better_than_gray"] + 0.5 * min(1.0, s["colourfulness_ratio"])

    passing = [d for d, s in summaries.items() if all(bars_met(s).values())]
    if passing:
        return max(passing, key=merit)
    return max(summaries, key=lambda d: (sum(bars_met(summaries[d]).values()), -summaries[d]["ciede2000"]))


def grid(
    render_sizes: Sequence[int],
    temperatures: Sequence[float],
    prior_corrections: Sequence[float],
    chroma_scales: Sequence[float],
    confidence_gammas: Sequence[float] = (0.0,),
    flips: Sequence[bool] = (False,),
    rolloffs: Sequence[float] = (0.0,),
) -> tuple[Decoding, ...]:
    return tuple(
        Decoding(r, t, a, s, g, f, o)
        for r in render_sizes
        for t in temperatures
        for a in prior_corrections
        for s in chroma_scales
        for g in confidence_gammas
        for f in flips
        for o in rolloffs
    )


def _shrink(rgb: np.ndarray, side: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    if min(height, width) <= side:
        return rgb
    scale = side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))


def load_originals(paths: Sequence[Path]) -> list[tuple[Path, np.ndarray]]:
    """Colour photos as upright sRGB ``(H, W, 3)`` uint8 through the engine's guarded reader;
    unreadable files are skipped with a warning."""
    from engine.errors import UnsupportedImage

    photos = []
    for path in paths:
        try:
            photos.append((Path(path), read_preview_rgb(path, 1 << 20)))
        except UnsupportedImage as error:
            log.warning("skipping %s: %s", path, error)
    return photos


def score_photo(
    colorizer, original: np.ndarray, decodings: Sequence[Decoding], score_side: int = 128
) -> tuple[dict[str, float], float, dict[Decoding, dict[str, float]]]:
    """One colour photo ``(H, W, 3)`` uint8 turned gray and colorized with every decoding: the gray
    copy's ``score``, the original's colourfulness (at ``score_side``), and each decoding's
    ``score``. One network pass per render size and flip; the rest is decoding and merging."""
    luma = np.asarray(Image.fromarray(original).convert("L"))
    reference = _shrink(original, score_side)
    gray = score(_shrink(np.repeat(luma[..., None], 3, axis=2), score_side), reference)
    by_pass: dict[tuple[int, bool], list[Decoding]] = {}
    for d in decodings:
        by_pass.setdefault((d.render_size, d.flip_average), []).append(d)
    rows = {}
    for (render_size, flip), group in by_pass.items():
        prepared = colorizer.prepare(luma, ColorizeSettings(render_size=render_size))
        raw = colorizer.forward(prepared, flip_average=flip)
        for d in group:
            field = colorizer.decode(
                raw,
                prepared,
                d.temperature,
                d.prior_correction,
                d.chroma_scale,
                confidence_gamma=d.confidence_gamma,
                lightness_rolloff=d.lightness_rolloff,
            )
            rows[d] = score(_shrink(merge_chroma(luma, field), score_side), reference)
    return gray, colourfulness(reference), rows


def sweep(
    colorizer,
    photos: Sequence[tuple[Path, np.ndarray]],
    decodings: Sequence[Decoding],
    score_side: int = 128,
    cancel: CancelToken | None = None,
) -> Iterator[tuple[int, dict]]:
    """Score every decoding on every photo (``score_photo``). Yields ``(photos_done, summaries)``
    after each photo; the last ``summaries`` maps each Decoding to ``engine.metrics.summarize``'s dict."""
    if not photos:
        raise ReviveError("no photos to choose the decoding on")
    cancel = cancel or CancelToken()
    rows: dict[Decoding, list[dict[str, float]]] = {d: [] for d in decodings}
    gray_rows: list[dict[str, float]] = []
    originals: list[float] = []
    for done, (_, original) in enumerate(photos, start=1):
        cancel.raise_if_cancelled()
        gray, fullness, scored = score_photo(colorizer, original, decodings, score_side)
        gray_rows.append(gray)
        originals.append(fullness)
        for d, row in scored.items():
            rows[d].append(row)
        yield done, {d: summarize(r, gray_rows, originals) for d, r in rows.items()} if done == len(photos) else {}
