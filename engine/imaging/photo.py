"""The photo and its metadata as Revive holds them, and the file-type rules: a leaf module.

``Photo`` is what ``engine.imaging.reading`` makes of a file and ``engine.imaging.writing`` needs
back; the suffix tables say which files Revive reads and what each result is written as. Only
numpy: the batch planner and the app's start-up use this without loading Pillow's plugins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_PIXELS: int = 200_000_000
"""Default decompression-bomb guard: the most pixels (width x height) a photo may have."""

IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})

_WRITE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
_SAME_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".png"}
_REQUESTED_SUFFIX = {"png": ".png", "jpg": ".jpg", "tiff": ".tif"}
OUTPUT_FORMATS: tuple[str, ...] = ("same", *_REQUESTED_SUFFIX)
"""What a user may ask for as the output type ('same' keeps the source's where it can)."""
FORMATS = OUTPUT_FORMATS
_SIXTEEN_BIT_SUFFIXES = {".png", ".tif"}
_ALPHA_FORMATS = {"PNG", "TIFF", "WEBP", "BMP"}


@dataclass(frozen=True)
class PhotoMetadata:
    """What a result carries over from its source photo.

    ``exif`` is an APP1-style block (``b"Exif\\0\\0"`` + TIFF-structured data) with Orientation
    reset to 1, because the pixels are already upright. ``icc_profile`` is kept only when it
    describes RGB data (a gray or CMYK profile would be wrong on the RGB output). ``dpi`` is
    (x, y) dots per inch of the upright photo.
    """

    exif: bytes | None
    icc_profile: bytes | None
    dpi: tuple[float, float] | None
    source_format: str
    source_mode: str


@dataclass(frozen=True, eq=False)  # eq=False: numpy fields have no single truth value
class Photo:
    """A photo ready for colorization.

    ``luma`` is (H, W) uint8 (bit_depth 8) or uint16 (bit_depth 16), gamma-encoded ITU-R 601
    luminance, EXIF orientation applied. ``alpha`` is (H, W) of the same dtype, or None when the
    source has no transparency. Arrays from ``read_photo`` are read-only; copy to modify.
    ``tinted`` is True when the source had visible colour (sepia, toned or colour photo).
    """

    luma: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    tinted: bool
    metadata: PhotoMetadata

    def __post_init__(self) -> None:
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {self.bit_depth}")
        dtype = np.uint8 if self.bit_depth == 8 else np.uint16
        if self.luma.ndim != 2 or self.luma.dtype != dtype:
            raise ValueError(
                f"luma must be a (H, W) {dtype.__name__} array for bit_depth "
                f"{self.bit_depth}, got {self.luma.shape} {self.luma.dtype}"
            )
        if self.alpha is not None and (self.alpha.shape != self.luma.shape or self.alpha.dtype != self.luma.dtype):
            raise ValueError(
                f"alpha must match luma ({self.luma.shape} {self.luma.dtype}), "
                f"got {self.alpha.shape} {self.alpha.dtype}"
            )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.luma.shape[1], self.luma.shape[0]


def is_image_path(path: Path) -> bool:
    """True for a photo file name we can read: known suffix (any case), not hidden (``._x.jpg``)."""
    path = Path(path)
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


def output_suffix(source_format: str, requested: str, bit_depth: int, has_alpha: bool) -> str:
    """The output file suffix for a result.

    ``requested`` is 'same', 'png', 'jpg' or 'tiff'. 'same' keeps the source's type when it can
    hold the result (JPEG -> .jpg, PNG -> .png, TIFF -> .tif, WEBP -> .webp) and otherwise gives
    .png (BMP, whose metadata support is poor; 16-bit or transparent results on JPEG/WebP). An
    explicit 'jpg' is honoured even for 16-bit or transparent results: write_photo then writes
    8-bit JPEG and drops alpha.
    """
    requested = requested.lower()
    if requested != "same":
        if requested not in _REQUESTED_SUFFIX:
            raise ValueError(f"output format must be one of same, png, jpg, tiff; got {requested!r}")
        return _REQUESTED_SUFFIX[requested]
    suffix = _SAME_SUFFIX.get(source_format.upper(), ".png")
    if bit_depth > 8 and suffix not in _SIXTEEN_BIT_SUFFIXES:
        return ".png"
    if has_alpha and _WRITE_FORMATS[suffix] not in _ALPHA_FORMATS:
        return ".png"
    return suffix


def format_of(path: Path) -> str:
    """The file format a path's suffix names ('JPEG', 'PNG', ...), or '' for an unknown suffix."""
    return _WRITE_FORMATS.get(Path(path).suffix.lower(), "")
