"""Reading photos for colorization and writing the results, with their metadata, safely.

``read_photo`` turns a JPEG, PNG, TIFF, WebP or BMP file into gamma-encoded luminance (ITU-R 601
luma, as Pillow's ``'L'`` conversion), an optional alpha channel and the metadata to carry to the
output (EXIF with Orientation reset to 1, ICC profile, DPI). ``write_photo`` writes an sRGB result
atomically: a hidden ``.part`` file in the target folder, fsync, then ``os.replace``.

This module is the public API. Opening, decoding and metadata live in ``engine.image_decoding``;
atomic writes and the 16-bit PNG/TIFF encoders in ``engine.image_encoding``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine.atomic_files import atomic_file, ensure_folder
from engine.errors import OutputError
from engine.image_decoding import (
    _TRANSPOSE,
    _convert,
    _dpi,
    _is_tinted,
    _load,
    _luma16,
    _open_file,
    _open_image,
    _read_exif,
    _rgb_icc,
    _shown,
    _split_channels,
)
from engine.image_encoding import (
    _like,
    _refuse_inputs,
    _save_8bit,
    _to_uint8,
    _write_png16,
    _write_tiff,
)

MAX_PIXELS: int = 200_000_000
"""Default decompression-bomb guard: the most pixels (width x height) a photo may have."""

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})

_WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
                  ".webp": "WEBP", ".bmp": "BMP"}
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
            raise ValueError(f"luma must be a (H, W) {dtype.__name__} array for bit_depth "
                             f"{self.bit_depth}, got {self.luma.shape} {self.luma.dtype}")
        if self.alpha is not None and (self.alpha.shape != self.luma.shape
                                       or self.alpha.dtype != self.luma.dtype):
            raise ValueError(f"alpha must match luma ({self.luma.shape} {self.luma.dtype}), "
                             f"got {self.alpha.shape} {self.alpha.dtype}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.luma.shape[1], self.luma.shape[0]


def is_image_path(path: Path) -> bool:
    """True for a photo file name we can read: known suffix (any case), not hidden (``._x.jpg``)."""
    path = Path(path)
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


# ---------------------------------------------------------------------------------------- reading

def read_photo(path: Path, max_pixels: int = MAX_PIXELS) -> Photo:
    """Read a photo's luminance, alpha and metadata, upright.

    8-bit sources give uint8 luma (Pillow's 'L' conversion of the RGB). 16-bit gray ('I;16*', or
    'I' as 16-bit PNGs load in some Pillow versions) keeps its uint16 values; 'I' values are clipped
    to 0..65535. Float ('F') TIFFs become uint16: data whose maximum is at most 1.0 is taken as
    0..1 and scaled by 65535, anything else is clipped to 0..65535 as counts; NaN becomes 0.
    Pillow reads 16-bit colour as 8-bit RGB, so bit_depth 16 always means gray. Multi-frame files
    give their first frame. Transparency comes from an alpha channel, a palette or a tRNS colour
    key (also of 1-bit and 16-bit gray PNGs). A DPI outside 1..65535 (or NaN) is not carried.
    Raises ImageTooLarge over ``max_pixels`` (checked from the header, before decoding) and
    UnsupportedImage for anything unreadable, including pipes, devices and broken symlinks (which
    are refused without blocking). Messages are one line: control characters in names are escaped.
    """
    path = Path(path)
    name = _shown(path.name)
    with _open_file(path) as fp:
        im = _open_image(fp, name, max_pixels)
        _load(im, name)
        exif, orientation = _read_exif(im, name)
        info = dict(im.info)
        source_format = "JPEG" if im.format == "MPO" else str(im.format)
        source_mode = im.mode
    luma, alpha, colour, bit_depth = _split_channels(im, name)
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        luma = luma.transpose(method)
        alpha = alpha.transpose(method) if alpha is not None else None
    metadata = PhotoMetadata(exif=exif, icc_profile=_rgb_icc(info, name),
                             dpi=_dpi(info, swap=orientation in (5, 6, 7, 8), name=name),
                             source_format=source_format, source_mode=source_mode)
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return Photo(luma=np.asarray(luma).astype(dtype, copy=False),
                 alpha=None if alpha is None else np.asarray(alpha).astype(dtype, copy=False),
                 bit_depth=bit_depth, tinted=colour is not None and _is_tinted(colour),
                 metadata=metadata)


def read_preview_rgb(path: Path, max_side: int, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A small upright sRGB view of a photo: (h, w, 3) uint8 with max(h, w) <= max_side.

    Never enlarges. JPEGs decode at a reduced DCT scale (``Image.draft``), so this is fast.
    Transparency is dropped (the colour under it is shown); 16-bit data is rounded to 8 bits.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    path = Path(path)
    name = _shown(path.name)
    with _open_file(path) as fp:
        im = _open_image(fp, name, max_pixels)
        if im.format in ("JPEG", "MPO"):
            im.draft("RGB", (max_side, max_side))
        _load(im, name)
        _, orientation = _read_exif(im, name)
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        view = Image.fromarray(_to_uint8(np.asarray(_luma16(im)).astype(np.uint16, copy=False)))
    elif im.mode in ("L", "RGB"):
        view = im
    else:
        view = _convert(im, "L" if im.mode in ("1", "LA", "La") else "RGB", name)
    view.thumbnail((max_side, max_side))
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        view = view.transpose(method)
    return np.asarray(view.convert("RGB"))



# ---------------------------------------------------------------------------------------- writing

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
            raise ValueError(
                f"output format must be one of same, png, jpg, tiff; got {requested!r}")
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


def write_photo(path: Path, rgb: np.ndarray, metadata: PhotoMetadata,
                alpha: np.ndarray | None = None, quality: int = 95,
                forbidden: Iterable[Path] = (), replace: bool = False) -> Path:
    """Write an sRGB result atomically, with the source's metadata; returns ``path``.

    ``rgb`` is (H, W, 3) uint8 or uint16 sRGB; ``alpha`` (H, W) uint8 or uint16 or None. The format
    follows the suffix (.jpg/.jpeg, .png, .tif/.tiff, .webp, .bmp). uint16 is written with 16 bits
    per channel to PNG and TIFF and rounded to 8 bits elsewhere. EXIF, ICC profile and DPI go to
    JPEG, PNG, TIFF and WebP (WebP has no DPI field; a DPI outside 1..65535 is left out, never
    a failure). JPEG is 4:2:0 at ``quality`` and has no alpha; WebP is lossy at ``quality``;
    TIFF is Deflate-compressed.
    Never replaces an existing file unless ``replace`` is True (the caller has proved the file at
    ``path`` is Revive's own, see ``engine.output_ledger``), and even then refuses (OutputError) to
    replace any path in ``forbidden`` (resolved paths, or the same file by os.path.samefile);
    creates missing folders; leaves no temporary file behind on failure.
    """
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"{_shown(path.name)}: cannot write "
                          f"{_shown(path.suffix) or 'suffix-less'} files; "
                          "use .jpg, .png, .tif or .webp")
    _check_pixels(rgb, alpha)
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    _refuse_inputs(path, forbidden)
    ensure_folder(path)
    if fmt not in _ALPHA_FORMATS:
        alpha = None
    with atomic_file(path, replace=replace) as f:
        if fmt == "TIFF":  # own writer: Pillow has no 16-bit RGB, and its libtiff path no EXIF IFD
            _write_tiff(f, rgb, None if alpha is None else _like(alpha, rgb.dtype), metadata)
        elif fmt == "PNG" and rgb.dtype == np.uint16:
            _write_png16(f, rgb, None if alpha is None else _like(alpha, np.uint16), metadata)
        else:
            _save_8bit(f, fmt, rgb, alpha, metadata, quality)
    return path


def _check_pixels(rgb: np.ndarray, alpha: np.ndarray | None) -> None:
    if not (isinstance(rgb, np.ndarray) and rgb.ndim == 3 and rgb.shape[2] == 3
            and rgb.dtype in (np.uint8, np.uint16) and rgb.shape[0] and rgb.shape[1]):
        raise ValueError(f"rgb must be a non-empty (H, W, 3) uint8 or uint16 array, got "
                         f"{getattr(rgb, 'shape', type(rgb))} {getattr(rgb, 'dtype', '')}")
    if alpha is not None and (alpha.shape != rgb.shape[:2]
                              or alpha.dtype not in (np.uint8, np.uint16)):
        raise ValueError(f"alpha must be a {rgb.shape[:2]} uint8 or uint16 array, "
                         f"got {alpha.shape} {alpha.dtype}")
