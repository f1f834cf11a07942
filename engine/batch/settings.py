"""What a user can tune for colorizing and for a batch: frozen, validated, and free of torch.

The command line, the app and the batch planner import these without loading torch, so ``--help``,
planning and the app's window come up fast. Ranges live here once; widgets and parsers use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.imaging.photo import OUTPUT_FORMATS

MIN_RENDER_SIZE = 64
MAX_RENDER_SIZE = 2048
SATURATION_RANGE = (0.0, 3.0)
TEMPERATURE_RANGE = (0.01, 2.0)
DEFAULT_TEMPERATURE = 0.38  # annealed-mean temperature of Zhang et al. 2016: a model card's default
DEFAULT_SATURATION = 1.0
DEFAULT_QUALITY = 95  # JPEG/WebP quality
FORMATS = OUTPUT_FORMATS
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class ColorizeSettings:
    """What a user can tune. ``None`` means: as the model card says."""

    render_size: int | None = None
    saturation: float = DEFAULT_SATURATION  # multiplies the predicted chroma: 0 = gray, 1 = as predicted
    temperature: float | None = None  # annealed-mean temperature: lower = more vivid

    def __post_init__(self) -> None:
        if self.render_size is not None and not MIN_RENDER_SIZE <= self.render_size <= MAX_RENDER_SIZE:
            raise ValueError(
                f"render size must be between {MIN_RENDER_SIZE} and {MAX_RENDER_SIZE}, got {self.render_size}"
            )
        low, high = SATURATION_RANGE
        if not low <= self.saturation <= high:
            raise ValueError(f"saturation must be between {low:g} and {high:g}, got {self.saturation}")
        low, high = TEMPERATURE_RANGE
        if self.temperature is not None and not low <= self.temperature <= high:
            raise ValueError(f"temperature must be between {low:g} and {high:g}, got {self.temperature}")


DEFAULT_SETTINGS = ColorizeSettings()  # frozen: safe to share as a default argument


@dataclass(frozen=True)
class BatchOptions:
    output_dir: Path
    format: str = "same"
    skip_existing: bool = False
    recursive: bool = True
    quality: int = DEFAULT_QUALITY
    settings: ColorizeSettings = DEFAULT_SETTINGS
    write_report: bool = True
    output_kind: str = "colorized"  # what the outputs are, in the output ledger ("restored": gray repairs)

    def __post_init__(self) -> None:
        if self.output_kind not in ("colorized", "restored"):
            raise ValueError(f"output kind must be colorized or restored, got {self.output_kind!r}")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"JPEG quality must be between 1 and 100, got {self.quality}")
