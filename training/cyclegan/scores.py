"""Does the fine-tune help? Base and fine-tuned G scored on colour photos of the user's that were
never trained on, through the decoding the installed model will use.

The colour folder's held-out photos (``cyclegan_data.load_domain``: the first readable ones in
file-name-hash order, as ``dataset_check.choose_holdout``) are read through the engine's guarded
reader with their long side at most ``config.score_side``, turned gray (``engine.metrics.gray_copy``)
and colorized by an ``engine.models.colorizer.Colorizer`` built on a copy of G with the base model's card:
the render size, temperature, prior correction, chroma scale and confidence gate of the exported
model, and its full-resolution chroma merge. Each output and each gray copy is scored against the
original (``engine.metrics.score``) and summarised (``engine.metrics.summarize``).

``HoldoutJudge`` does it for a run: it scores the base once, then G at each preview, and saves G as
the run's ``best.safetensors`` whenever it beats the base and every earlier best.

``beats(tuned, base)`` is the rule for installing: a lower mean CIEDE2000 than the base and a colour
cast (the larger of |mean a* error| and |mean b* error|, Lab units) at most ``CAST_TOLERANCE`` above
the base's. ``ScoreBook`` keeps the base's scores, every scored step and the best step that beats
the base; it is saved as ``scores.json`` in the run so a resumed run keeps its best.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.atomic_files import write_text_atomically
from engine.device import DeviceChoice
from engine.errors import ReviveError, UnsupportedImage
from engine.imaging import read_preview_rgb
from engine.imaging.tint import classify
from engine.metrics import colourfulness, gray_copy, score, summarize
from engine.models.colorizer import Colorizer
from engine.models.files import ModelCard, load_model, save_model
from training.cyclegan.config import BEST_MODEL_FILE, SCORES_FILE
from training.cyclegan.events import HoldoutScored
from training.cyclegan.parts import non_finite_weight

log = logging.getLogger(__name__)

CAST_TOLERANCE = 0.5  # Lab units a fine-tune's cast may exceed the base's (a few photos are noisy)
# How much lower a fine-tune's held-out CIEDE2000 must be to count as better: on 8 photos a
# difference of 0.01 is a tie (measured: a fine-tune of v2.2 at 8.81 against its base's 8.82 was
# better than gray on 62 % of them against the base's 75 %).
CIEDE_MARGIN = 0.05
SHOWN = ("psnr", "ciede2000", "mean_a_error", "mean_b_error", "better_than_gray")  # what people see
_SUMMARY_KEYS = (*SHOWN, "gray_psnr", "gray_ciede2000")


@dataclass(frozen=True)
class ScoringPhoto:
    """A held-out colour photo ready to score: ``original`` ``(h, w, 3)`` uint8 sRGB, ``luma``
    ``(h, w)`` uint8 (its gray copy, what the model is given), the gray copy's own scores."""

    name: str
    original: np.ndarray
    luma: np.ndarray
    gray: dict[str, float]
    colourfulness: float


def scoring_image(path: Path, side: int) -> np.ndarray | None:
    """A colour photo, upright, long side at most ``side``: ``(h, w, 3)`` uint8 sRGB; None when the
    engine's reader refuses it or it is gray or tinted (``engine.imaging.tint.classify``: its colours say
    nothing about a colorizer), so the next photo in hash order is held out instead."""
    try:
        image = read_preview_rgb(path, side)
    except UnsupportedImage as error:
        log.warning("not scoring on %s: %s", Path(path).name, error)
        return None
    return image if classify(image)[0] == "colour" else None


def prepare_photos(images) -> tuple[ScoringPhoto, ...]:
    """``images``: (file name, ``(h, w, 3)`` uint8 sRGB) pairs -> photos with gray copies and their scores."""
    photos = []
    for name, original in images:
        gray = gray_copy(original)
        photos.append(
            ScoringPhoto(
                name, original, np.ascontiguousarray(gray[..., 0]), score(gray, original), colourfulness(original)
            )
        )
    return tuple(photos)


def score_model(
    module: nn.Module, card: ModelCard, photos: tuple[ScoringPhoto, ...], device: DeviceChoice
) -> dict[str, float]:
    """``engine.metrics.summarize`` of ``module`` (a copy of it; the module itself is not touched)
    colorizing ``photos`` with ``card``'s decoding on ``device``. ReviveError without photos."""
    if not photos:
        raise ReviveError("no held-out colour photos to score the model on")
    colorizer = Colorizer(copy.deepcopy(module), card, device)
    with torch.inference_mode():
        rows = [score(colorizer.colorize(photo.luma), photo.original) for photo in photos]
    return summarize(rows, [p.gray for p in photos], [p.colourfulness for p in photos])


def cast(summary: dict[str, float]) -> float:
    """The colour cast of a summary: the larger of |mean a* error| and |mean b* error|, Lab units."""
    return max(abs(summary["mean_a_error"]), abs(summary["mean_b_error"]))


def beats(tuned: dict[str, float], base: dict[str, float]) -> bool:
    """True when ``tuned`` earns its place over ``base``: mean CIEDE2000 lower by ``CIEDE_MARGIN`` at
    least and no stronger cast (within ``CAST_TOLERANCE``)."""
    lower = tuned["ciede2000"] <= base["ciede2000"] - CIEDE_MARGIN
    return lower and cast(tuned) <= cast(base) + CAST_TOLERANCE


@dataclass
class ScoreBook:
    """The base's scores, each scored step's, and the best step that beats the base (None: none yet)."""

    photos: tuple[str, ...]
    base: dict[str, float]
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    best_step: int | None = None

    @property
    def best(self) -> dict[str, float] | None:
        return next((s for step, s in self.history if step == self.best_step), None)

    def last(self) -> tuple[int, dict[str, float]] | None:
        return self.history[-1] if self.history else None

    def record(self, step: int, summary: dict[str, float]) -> bool:
        """Add ``step``'s scores; True when they are the new best (beat the base and every earlier best)."""
        self.history = [(s, v) for s, v in self.history if s != step] + [(step, summary)]
        best = self.best
        if step > 0 and beats(summary, self.base) and (best is None or summary["ciede2000"] < best["ciede2000"]):
            self.best_step = step
            return True
        return False

    def to_json(self) -> str:
        data = {
            "photos": list(self.photos),
            "base": self.base,
            "best_step": self.best_step,
            "history": [{"step": step, **summary} for step, summary in self.history],
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ScoreBook:
        """Parse ``scores.json``; ValueError when anything in it is not what a run writes."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        photos = data.get("photos")
        if not isinstance(photos, list) or not all(isinstance(n, str) for n in photos):
            raise ValueError("photos is not a list of names")
        history = []
        for entry in _list(data.get("history")):
            if not isinstance(entry, dict) or not _whole(entry.get("step")):
                raise ValueError("a history entry has no step")
            history.append((entry["step"], _summary({k: v for k, v in entry.items() if k != "step"})))
        best_step = data.get("best_step")
        if best_step is not None and (not _whole(best_step) or best_step not in {s for s, _ in history}):
            raise ValueError("best_step is not a scored step")
        return cls(tuple(photos), _summary(data.get("base")), history, best_step)


def _list(value) -> list:
    if not isinstance(value, list):
        raise ValueError("history is not a list")
    return value


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _summary(value) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError("a summary is not an object")
    summary = {k: v for k, v in value.items() if isinstance(k, str)}
    for key in _SUMMARY_KEYS:
        number = summary.get(key)
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
            raise ValueError(f"{key} is not a number")
    return {k: float(v) for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def load_score_book(path: Path) -> ScoreBook | None:
    """A run's ``scores.json``; None when there is none; ReviveError when it is damaged."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ReviveError(f"cannot read {path}: {error.strerror}") from None
    try:
        return ScoreBook.from_json(text)
    except (ValueError, RecursionError) as error:
        raise ReviveError(f"{path}: damaged scores ({error})") from None


def format_table(
    base_name: str, base: dict[str, float], tuned: dict[str, float] | None, tuned_label: str, photos: int
) -> str:
    """Base vs fine-tuned vs gray copy, as plain text for the command line."""
    head = f"{'':<32}{'PSNR dB':>8}{'CIEDE2000':>11}{'a* cast':>9}{'b* cast':>9}{'better than gray':>18}"
    lines = [
        f"on {photos} of your colour photos kept aside (never trained on), turned gray and colorized"
        " as the installed model would (CIEDE2000: lower is better; cast: signed mean error, Lab):",
        head,
    ]

    def row(label: str, s: dict[str, float], gray: bool = False) -> str:
        psnr, ciede = (s["gray_psnr"], s["gray_ciede2000"]) if gray else (s["psnr"], s["ciede2000"])
        if gray:
            return f"{label:<32.32}{psnr:>8.2f}{ciede:>11.2f}"
        return (
            f"{label:<32.32}{psnr:>8.2f}{ciede:>11.2f}{s['mean_a_error']:>+9.2f}{s['mean_b_error']:>+9.2f}"
            f"{s['better_than_gray']:>18.0%}"
        )

    lines.append(row(f"base ({base_name})", base))
    if tuned is not None:
        lines.append(row(tuned_label, tuned))
    lines.append(row("gray copy", base, gray=True))
    return "\n".join(lines)


def save_generator(path: Path, module: nn.Module, base: ModelCard, step: int, what: str) -> Path:
    """Save G's weights at ``step`` as a model file with the base's card (``what``: which step it is).
    ReviveError, and nothing written, when a weight is NaN or infinite."""
    broken = non_finite_weight({"G": module.state_dict()})
    if broken:
        raise ReviveError(f"at step {step} the weights ({broken}) are no longer finite numbers, so they were not saved")
    card = base.with_updates(
        description=f"{what} ({step}) of the fine-tuning run {Path(path).parent.name}",
        base_model=base.name,
        training={"step": step},
        metrics={},
    )
    return save_model(Path(path), module, card)


def save_best(run_dir: Path, module: nn.Module, base: ModelCard, step: int) -> Path:
    """Save G's weights at ``step`` as the run's ``best.safetensors``."""
    return save_generator(Path(run_dir) / BEST_MODEL_FILE, module, base, step, "best step")


class HoldoutJudge:
    """A run's scoring: the held-out photos, the base's card (the decoding), the device, the book."""

    def __init__(
        self,
        run_dir: Path,
        base_card: ModelCard,
        photos: tuple[ScoringPhoto, ...],
        device: DeviceChoice,
        book: ScoreBook,
    ) -> None:
        self.run_dir, self.base_card, self.photos = Path(run_dir), base_card, photos
        self.device, self.book = device, book

    @classmethod
    def open(
        cls,
        run_dir: Path,
        base_module: nn.Module | None,
        base_path: Path,
        base_card: ModelCard,
        *,
        photos: tuple[ScoringPhoto, ...],
        device: DeviceChoice,
    ) -> HoldoutJudge:
        """The judge of a new run (``base_module`` given: the base is scored now) or of a resumed one
        (its ``scores.json``; when that is missing or was made on other photos, the base is loaded
        from ``base_path`` and scored again, and earlier steps are forgotten). ReviveError when the
        base cannot be scored."""
        if not photos:
            raise ReviveError("no colour photo could be kept aside to measure the fine-tune; add colour photos")
        names = tuple(p.name for p in photos)
        book = None
        if base_module is None:
            book = load_score_book(Path(run_dir) / SCORES_FILE)
            if book is not None and book.photos != names:
                log.info("%s: the held-out colour photos changed; measuring the base again", run_dir)
                book = None
            if book is None:
                try:
                    base_module = load_model(Path(base_path))[0]
                except ReviveError as error:
                    raise ReviveError(f"cannot measure the base model again to compare: {error}") from None
        if book is None:
            assert base_module is not None  # given, or loaded above for want of a score book
            book = ScoreBook(names, score_model(base_module, base_card, photos, device))
        judge = cls(run_dir, base_card, photos, device, book)
        judge._save()
        return judge

    def judge(self, step: int, module: nn.Module) -> HoldoutScored:
        """Score G (``module``) at ``step``, record it, save it as the best when it is; the event."""
        summary = score_model(module, self.base_card, self.photos, self.device) if step else self.book.base
        if self.book.record(step, summary):
            save_best(self.run_dir, module, self.base_card, step)
            log.info(
                "step %d beats the base (CIEDE2000 %.3f vs %.3f): saved as the best",
                step,
                summary["ciede2000"],
                self.book.base["ciede2000"],
            )
        self._save()
        return self.event(step, summary)

    def event(self, step: int, summary: dict[str, float]) -> HoldoutScored:
        return HoldoutScored(
            step,
            dict(self.book.base),
            dict(summary),
            beats(summary, self.book.base),
            self.book.best_step,
            None if self.book.best is None else dict(self.book.best),
            len(self.photos),
        )

    def replay(self) -> list[HoldoutScored]:
        """The recorded steps as events (a resumed run's curve starts with its history)."""
        return [self.event(step, summary) for step, summary in self.book.history]

    def _save(self) -> None:
        write_text_atomically(self.run_dir / SCORES_FILE, self.book.to_json())
