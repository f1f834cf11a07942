"""The restoration stages, their frozen options and their cards; parsing what a user names.

Torch-free: the command line's ``--help``, the GUI's controls and the batch planner use these
without loading a model. Every option is validated where it is made, with a message a user can act
on (``FadingOptions(strength=2)`` says the range).

The stages always run in one order, whatever order they are named in (``STAGE_ORDER``): damage
first, found on the untouched photo (denoising first would blur a 1-pixel scratch into its
background, and a contrast stretch first would change what the detector was trained on); then
grain, because the contrast stretch and CLAHE of the fading stage amplify noise; fading last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

STAGE_ORDER: tuple[str, ...] = ("scratches", "grain", "fading")
FILL_METHODS = ("telea", "ns")  # cv2.INPAINT_TELEA (Telea 2004), cv2.INPAINT_NS (Bertalmio et al. 2001)


def _unit(name: str, value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")


def _whole(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def _number(name: str, value: Any, low: float, high: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")


@dataclass(frozen=True)
class ScratchOptions:
    """Finding damage (scratches, dust, folds, torn corners) and filling it in.

    ``strength`` is the detector's sensitivity: 0.5 uses the threshold its card was tuned to,
    1 flags anything doubtful, 0 only the obvious. The detector looks at a working copy whose short
    side is at most ``detect_size`` (scratches then have the 1-3 px width it was trained on);
    the mask is scaled back and the fill runs on the full-resolution luma.
    """

    strength: float = 0.5
    detect_size: int = 1024
    method: str = "telea"
    radius: int = 3  # pixels of the neighbourhood each filled pixel is drawn from, at full resolution

    def __post_init__(self) -> None:
        _unit("scratch strength", self.strength)
        _whole("detect size", self.detect_size, 64, 8192)
        if self.method not in FILL_METHODS:
            raise ValueError(f"fill method must be one of {', '.join(FILL_METHODS)}, got {str(self.method)[:40]!r}")
        _whole("fill radius", self.radius, 1, 64)


@dataclass(frozen=True)
class FadingOptions:
    """Automatic levels, gamma and local contrast (CLAHE) for a faded print.

    The black and white points are the ``black_percentile`` and ``white_percentile`` of the
    photo's histogram, stretched to the full range, with at most ``max_gain`` times the contrast.
    ``gamma`` None chooses one that moves the median half-way (in log terms) toward mid-gray, within
    0.75..1.33; CLAHE (Zuiderveld 1994) with ``clahe_clip`` (0: off) on a ``clahe_grid`` squared
    grid adds local contrast. ``strength`` blends the result with the photo (0: unchanged).
    """

    strength: float = 0.7
    black_percentile: float = 0.5
    white_percentile: float = 99.5
    max_gain: float = 4.0
    gamma: float | None = None
    clahe_clip: float = 1.5
    clahe_grid: int = 8

    def __post_init__(self) -> None:
        _unit("fading strength", self.strength)
        _number("black percentile", self.black_percentile, 0.0, 20.0)
        _number("white percentile", self.white_percentile, 80.0, 100.0)
        _number("maximum gain", self.max_gain, 1.0, 16.0)
        if self.gamma is not None:
            _number("gamma", self.gamma, 0.2, 5.0)
        _number("CLAHE clip limit", self.clahe_clip, 0.0, 40.0)
        _whole("CLAHE grid", self.clahe_grid, 1, 64)


@dataclass(frozen=True)
class GrainOptions:
    """Film grain and JPEG artefacts: non-local means (Buades et al. 2005, OpenCV's
    ``fastNlMeansDenoising``). The filter strength follows the noise measured in the photo
    (Immerkaer 1996's Laplacian estimate, made robust with a median), so a clean photo is
    barely touched: h = 2 x ``strength`` x ``h_per_sigma`` x sigma. ``template`` and ``search`` are
    the patch and search-window sides in pixels (odd). ``h_per_sigma`` 1.5 is the measured best
    over light and heavy film grain (benchmarks/restoration.py: 1.0 gained 0.1 dB on heavy grain,
    1.5 gained 0.5 dB, 2.0 gained 1.0 dB there but lost 0.1 dB on light grain)."""

    strength: float = 0.5
    h_per_sigma: float = 1.5
    template: int = 7
    search: int = 21

    def __post_init__(self) -> None:
        _unit("grain strength", self.strength)
        _number("h per sigma", self.h_per_sigma, 0.1, 10.0)
        for name, value in (("template window", self.template), ("search window", self.search)):
            _whole(name, value, 3, 63)
            if value % 2 == 0:
                raise ValueError(f"{name} must be odd, got {value}")
        if self.search < self.template:
            raise ValueError(f"search window ({self.search}) must be at least the template window ({self.template})")


@dataclass(frozen=True)
class RestorationOptions:
    """Options of every stage, and the tile side for full-resolution work (pixels)."""

    scratches: ScratchOptions = field(default_factory=ScratchOptions)
    fading: FadingOptions = field(default_factory=FadingOptions)
    grain: GrainOptions = field(default_factory=GrainOptions)
    tile_size: int = 1024

    def __post_init__(self) -> None:
        _whole("tile size", self.tile_size, 64, 16384)
        for name, kind in (("scratches", ScratchOptions), ("fading", FadingOptions), ("grain", GrainOptions)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name} options must be {kind.__name__}, got {type(getattr(self, name)).__name__}")

    def with_strengths(self, strengths: dict[str, float]) -> RestorationOptions:
        """These options with the stages' strengths replaced (``{"fading": 0.9}``)."""
        unknown = sorted(set(strengths) - set(STAGE_ORDER))
        if unknown:
            raise ValueError(_unknown_message(unknown[0]))
        changes = {name: replace(getattr(self, name), strength=value) for name, value in strengths.items()}
        return replace(self, **changes)


# --------------------------------------------------------------------------------------- cards


@dataclass(frozen=True)
class ParameterCard:
    """One option of a stage, for people and for the GUI's controls."""

    name: str
    meaning: str
    default: Any
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class StageCard:
    """What a stage is, like a model card: its name, what it does, how, and its parameters."""

    name: str
    title: str
    description: str
    method: str
    parameters: tuple[ParameterCard, ...]
    uses_model: bool = False
    gives_mask: bool = False


STAGE_CARDS: dict[str, StageCard] = {
    "scratches": StageCard(
        name="scratches",
        title="Scratches, dust and folds",
        description="Finds scratches, cracks, dust specks, fibres, folds and torn corners and fills them in from "
        "the photo around them. A photo without damage comes out unchanged, byte for byte.",
        method="Revive's damage detector (a small U-Net trained on clean photos with drawn damage, after Wan et al. "
        "2020) with a threshold and a minimum area, then OpenCV inpainting (Telea 2004, or Navier-Stokes).",
        parameters=(
            ParameterCard(
                "strength",
                "sensitivity: 0.5 is the detector's tuned threshold, 1 flags anything doubtful",
                0.5,
                0.0,
                1.0,
            ),
            ParameterCard("detect_size", "short side of the copy the detector looks at, pixels", 1024, 64, 8192),
            ParameterCard("method", "fill method: telea or ns", "telea"),
            ParameterCard("radius", "neighbourhood each filled pixel is drawn from, pixels", 3, 1, 64),
        ),
        uses_model=True,
        gives_mask=True,
    ),
    "grain": StageCard(
        name="grain",
        title="Grain and noise",
        description="Smooths film grain, scanner noise and JPEG artefacts while keeping edges; the amount follows "
        "the noise measured in the photo.",
        method="Non-local means (Buades et al. 2005; OpenCV fastNlMeansDenoising) with h set from a robust "
        "Laplacian noise estimate (Immerkaer 1996).",
        parameters=(
            ParameterCard(
                "strength",
                "0 leaves the grain, 0.5 removes about as much as measured best, 1 twice that",
                0.5,
                0.0,
                1.0,
            ),
            ParameterCard("template", "patch side, pixels (odd)", 7, 3, 63),
            ParameterCard("search", "search window side, pixels (odd); time grows with its square", 21, 3, 63),
        ),
    ),
    "fading": StageCard(
        name="fading",
        title="Fading and contrast",
        description="Gives a faded print its blacks and whites back (automatic levels), evens its mid-tones (gamma) "
        "and restores local contrast.",
        method="Percentile black and white points, an automatic gamma, CLAHE (Zuiderveld 1994) on the luminance, "
        "blended with the photo by the strength.",
        parameters=(
            ParameterCard("strength", "0 leaves the photo, 1 applies the full correction", 0.7, 0.0, 1.0),
            ParameterCard("black_percentile", "share of the darkest pixels taken as black, percent", 0.5, 0.0, 20.0),
            ParameterCard("white_percentile", "the white point, percent of pixels below it", 99.5, 80.0, 100.0),
            ParameterCard("max_gain", "most contrast the levels may add (times)", 4.0, 1.0, 16.0),
            ParameterCard("clahe_clip", "CLAHE clip limit (0: no local contrast)", 1.5, 0.0, 40.0),
            ParameterCard("clahe_grid", "CLAHE grid (tiles per side)", 8, 1, 64),
        ),
    ),
}


# ------------------------------------------------------------------------------------- parsing


def _unknown_message(name: str) -> str:
    shown = name if len(name) <= 40 else name[:40] + "..."
    return f"unknown restoration stage {shown!r} (known: {', '.join(STAGE_ORDER)})"


def parse_stages(text: str) -> tuple[str, ...]:
    """Stage names from ``"scratches,fading,grain"`` (any order, any case, spaces allowed; ``all``
    for every stage), in ``STAGE_ORDER``. ValueError with a one-line message for an unknown or
    missing name."""
    if not isinstance(text, str):
        raise ValueError(f"restoration stages must be text, got {type(text).__name__}")
    names = [part.strip().lower() for part in text.split(",")]
    if not any(names):
        raise ValueError(f"name at least one restoration stage ({', '.join(STAGE_ORDER)})")
    chosen: set[str] = set()
    for name in names:
        if not name:
            raise ValueError(f"empty name in the restoration stages {text.strip()[:60]!r}")
        if name == "all":
            chosen.update(STAGE_ORDER)
        elif name in STAGE_ORDER:
            chosen.add(name)
        else:
            raise ValueError(_unknown_message("".join(c if c.isprintable() else "?" for c in name)))
    return tuple(name for name in STAGE_ORDER if name in chosen)


def parse_strengths(text: str, stages: tuple[str, ...] = STAGE_ORDER) -> dict[str, float]:
    """``"0.7"`` (every stage in ``stages``) or ``"fading=0.9,grain=0.3"`` -> {stage: strength}.
    ValueError in one line for an unknown stage or a value outside 0..1."""
    text = str(text).strip()
    if "=" not in text:
        value = _strength_value(text, "strength")
        return dict.fromkeys(stages, value)
    found: dict[str, float] = {}
    for part in text.split(","):
        name, _, number = part.partition("=")
        name = name.strip().lower()
        if name not in STAGE_ORDER:
            raise ValueError(_unknown_message(name))
        found[name] = _strength_value(number.strip(), f"{name} strength")
    return found


def _strength_value(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number from 0 to 1, got {text[:40]!r}") from None
    _unit(what, value)
    return value
