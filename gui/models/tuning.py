"""What the tuning controls mean, as plain functions (no Qt, no torch).

"Colour boldness" is the user's word for the annealed-mean temperature of the model's colour
classifier (Zhang et al. 2016): a lower temperature picks bolder, more saturated colours. Boldness
50 means the model's own temperature; each 50 points multiplies or divides it by four.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.batch.settings import MAX_RENDER_SIZE, MIN_RENDER_SIZE, TEMPERATURE_RANGE, ColorizeSettings

BOLDNESS_NEUTRAL = 50
_FACTOR_PER_50 = 4.0
_T_MIN, _T_MAX = TEMPERATURE_RANGE
# The render sizes worth offering (short side, pixels); 0 is the model's own.
RENDER_SIZES = (0, 96, 128, 160, 192, 256, 384, 512)
SATURATION_MAX = 200  # percent: beyond twice the predicted colour nothing looks like a photo
SATURATION_STEP = 5


def temperature_for_boldness(boldness: int, model_temperature: float) -> float | None:
    """Boldness 0..100 -> temperature (None at the neutral point: as the model card says)."""
    if not 0 <= boldness <= 100:
        raise ValueError(f"boldness must be between 0 and 100, got {boldness}")
    if boldness == BOLDNESS_NEUTRAL:
        return None
    factor = _FACTOR_PER_50 ** ((BOLDNESS_NEUTRAL - boldness) / 50.0)
    return min(_T_MAX, max(_T_MIN, model_temperature * factor))


def describe_boldness(boldness: int) -> str:
    """'model's own', 'bolder +20', 'calmer −20': what the number means, for the label."""
    offset = boldness - BOLDNESS_NEUTRAL
    if offset == 0:
        return "model's own"
    return f"bolder +{offset}" if offset > 0 else f"calmer −{-offset}"


def describe_render_size(render_size: int, model_render_size: int | None = None) -> str:
    if render_size:
        return f"{render_size} px"
    return f"model default ({model_render_size} px)" if model_render_size else "model default"


@dataclass(frozen=True)
class Tuning:
    """The settings panel's values. ``render_size`` 0 means the model's own."""

    model: str
    render_size: int = 0
    saturation_percent: int = 100
    boldness: int = BOLDNESS_NEUTRAL

    def settings(self, model_temperature: float) -> ColorizeSettings:
        render = self.render_size if self.render_size else None
        if render is not None:
            render = max(MIN_RENDER_SIZE, min(MAX_RENDER_SIZE, render))
        return ColorizeSettings(
            render_size=render,
            saturation=max(0.0, min(SATURATION_MAX, self.saturation_percent) / 100.0),
            temperature=temperature_for_boldness(self.boldness, model_temperature),
        )

    def same_model_run(self, other: Tuning) -> bool:
        """True when ``other`` differs only in what decoding changes (saturation, boldness): the
        network's output of a photo made with one serves the other without a model run."""
        return self.model == other.model and self.render_size == other.render_size

    def describe(self, render_size: int = 0) -> str:
        """'tiny · 256 px · saturation 100 % · boldness model's own' (``render_size``: the one used),
        for labels that wrap: a number keeps its unit on its line (no-break spaces)."""
        size = f"{render_size} px" if render_size else describe_render_size(self.render_size)
        nbsp = "\u00a0"
        return (
            f"{self.model or 'default model'} · {size.replace(' px', nbsp + 'px')} · "
            f"saturation {self.saturation_percent}{nbsp}% · boldness {describe_boldness(self.boldness)}"
        )


def describe_eta(seconds: float | None) -> str:
    """'about 3 min left', 'less than a minute left', '' when unknown."""
    if seconds is None or math.isnan(seconds):
        return ""
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min left"
    return f"about {minutes / 60:.1f} h left"
