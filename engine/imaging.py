"""Reading photos for colorization and writing the results, with their metadata, safely.

``read_photo`` turns a JPEG, PNG, TIFF, WebP or BMP file into gamma-encoded luminance (ITU-R 601
luma, as Pillow's ``'L'`` conversion), an optional alpha channel and the metadata to carry to the
output (EXIF with Orientation reset to 1, ICC profile, DPI). ``write_photo`` writes an sRGB result
atomically: a hidden ``.part`` file in the target folder, fsync, then ``os.replace``.

Pillow cannot write 16-bit-per-channel RGB, so 16-bit PNG and all TIFF are encoded here with numpy
and zlib (PNG: Sub filter; TIFF: Deflate with horizontal-differencing predictor, tags serialised by
Pillow's ``ImageFileDirectory_v2``, which also writes the EXIF sub-IFDs libtiff refuses).
"""

from __future__ import annotations

import errno
import logging
import math
import os
import secrets
import struct
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import (  # importing a plugin registers its reader in Image.OPEN, used by _open_image
    BmpImagePlugin,  # noqa: F401
    Image,
    ImageFile,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)
from PIL.ExifTags import IFD, Base

from engine.errors import ImageTooLarge, OutputError, UnsupportedImage

log = logging.getLogger(__name__)

MAX_PIXELS: int = 200_000_000
"""Default decompression-bomb guard: the most pixels (width x height) a photo may have."""

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})

_READ_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")
_WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
                  ".webp": "WEBP", ".bmp": "BMP"}
_SAME_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".png"}
_REQUESTED_SUFFIX = {"png": ".png", "jpg": ".jpg", "tiff": ".tif"}
_SIXTEEN_BIT_SUFFIXES = {".png", ".tif"}
_ALPHA_FORMATS = {"PNG", "TIFF", "WEBP", "BMP"}

# Errors Pillow's plugins raise on damaged or hostile files (Image.open treats several of them as
# "not this format", load() lets them through).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
                  struct.error, zlib.error)
_EXIF_ERRORS = (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error)

_TINT_SIDE = 64          # tint is judged on a thumbnail about this many pixels across
_TINT_CHROMA = 6         # 95th percentile of max(R,G,B) - min(R,G,B) at or above this: tinted
_JPEG_EXIF_LIMIT = 65533  # an APP1 segment holds at most this many bytes
# PNG/TIFF Deflate level. Measured on a 12 MP photo: level 1 takes 0.4 s, 3 takes 1.0 s and
# Pillow's default 6 takes 3.6 s, for files 14.2, 12.9 and 12.5 MB: noisy photos barely compress.
_ZLIB_LEVEL = 1

# EXIF Orientation -> the transpose that shows the photo upright (as ImageOps.exif_transpose).
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
# Descriptive IFD0 tags worth carrying; a TIFF's IFD0 also holds its strip layout, which must not.
_EXIF_IFD0_TAGS = (Base.ImageDescription, Base.Make, Base.Model, Base.Orientation, Base.Software,
                   Base.DateTime, Base.Artist, Base.WhitePoint, Base.PrimaryChromaticities,
                   Base.Copyright)
_EXIF_SUB_IFDS = (IFD.Exif, IFD.GPSInfo)


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
    give their first frame. Raises ImageTooLarge over ``max_pixels`` (checked
    from the header, before decoding) and UnsupportedImage for anything unreadable.
    """
    path = Path(path)
    name = path.name
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
                             dpi=_dpi(info, swap=orientation in (5, 6, 7, 8)),
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
    with _open_file(path) as fp:
        im = _open_image(fp, path.name, max_pixels)
        if im.format in ("JPEG", "MPO"):
            im.draft("RGB", (max_side, max_side))
        _load(im, path.name)
        _, orientation = _read_exif(im, path.name)
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        view = Image.fromarray(_to_uint8(np.asarray(_luma16(im)).astype(np.uint16, copy=False)))
    elif im.mode in ("L", "RGB"):
        view = im
    else:
        view = _convert(im, "L" if im.mode in ("1", "LA", "La") else "RGB", path.name)
    view.thumbnail((max_side, max_side))
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        view = view.transpose(method)
    return np.asarray(view.convert("RGB"))


def _open_file(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError as e:
        raise UnsupportedImage(f"{path.name}: no such file") from e
    except IsADirectoryError as e:
        raise UnsupportedImage(f"{path.name}: is a folder, not a photo") from e
    except OSError as e:
        raise UnsupportedImage(f"{path.name}: cannot be read ({e.strerror or e})") from e


def _open_image(fp: BinaryIO, name: str, max_pixels: int) -> ImageFile.ImageFile:
    """Identify the file among the allowed formats and check its size, without decoding pixels.

    This is Image.open's identification loop with our own pixel guard in place of Pillow's global
    one (which warns above 89 MP and refuses above 179 MP whatever ``max_pixels`` says).
    """
    prefix = fp.read(16)
    reason = None
    for fmt in _READ_FORMATS:
        factory, accept = Image.OPEN[fmt]
        verdict = accept(prefix) if accept else True
        if isinstance(verdict, str):  # Pillow's "recognised, but support is not installed"
            raise UnsupportedImage(f"{name}: {verdict}")
        if not verdict:
            continue
        fp.seek(0)
        try:
            im = factory(fp, name)
        except Image.DecompressionBombError as e:  # some plugins (WebP) check Pillow's own limit
            raise _too_large(name, e) from e
        except _DECODE_ERRORS as e:
            reason = _reason(e)
            continue
        width, height = im.size
        if width * height > max_pixels:
            raise ImageTooLarge(f"{name}: {width}x{height} pixels is over the "
                                f"{max_pixels / 1e6:g}-megapixel limit")
        return im
    if reason is not None:
        raise UnsupportedImage(f"{name}: damaged image header ({reason})")
    fp.seek(0)
    try:
        with Image.open(fp) as other:  # only to name the type in the message
            kind = f"unsupported image type {other.format}; use JPEG, PNG, TIFF, WebP or BMP"
    except (UnidentifiedImageError, Image.DecompressionBombError, *_DECODE_ERRORS):
        kind = "not an image file"
    raise UnsupportedImage(f"{name}: {kind}")


def _load(im: ImageFile.ImageFile, name: str) -> None:
    """Decode the first frame; a truncated or corrupt file raises instead of loading half gray."""
    try:
        im.load()
    except Image.DecompressionBombError as e:  # TIFF checks Pillow's own limit while loading
        raise _too_large(name, e) from e
    except _DECODE_ERRORS as e:
        raise UnsupportedImage(f"{name}: damaged or truncated image ({_reason(e)})") from e


def _too_large(name: str, error: Image.DecompressionBombError) -> ImageTooLarge:
    return ImageTooLarge(f"{name}: too large to decode safely ({_reason(error)})")


def _reason(error: BaseException) -> str:
    return (str(error) or type(error).__name__).splitlines()[0]


def _convert(im: Image.Image, mode: str, name: str) -> Image.Image:
    try:
        return im.convert(mode)
    except ValueError as e:
        raise UnsupportedImage(f"{name}: unsupported pixel format {im.mode} ({e})") from e


def _split_channels(im: Image.Image, name: str
                    ) -> tuple[Image.Image, Image.Image | None, Image.Image | None, int]:
    """(luma as 'L' or 'I;16', alpha as 'L' or None, RGB(A) image to judge tint or None, bits)."""
    mode = im.mode
    if mode in ("P", "PA") or (mode == "RGB" and "transparency" in im.info) or mode == "RGBa":
        im = _convert(im, "RGBA", name)
    elif (mode == "L" and "transparency" in im.info) or mode == "La":
        im = _convert(im, "LA", name)
    elif mode == "1":
        im = _convert(im, "L", name)
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        im = _convert(im, "RGB", name)  # Pillow undoes Adobe-inverted CMYK JPEGs while decoding

    if im.mode == "L":
        return im, None, None, 8
    if im.mode == "LA":
        return im.getchannel("L"), _alpha(im), None, 8
    if im.mode == "RGB":
        return im.convert("L"), None, im, 8
    if im.mode == "RGBA":
        return im.convert("L"), _alpha(im), im, 8
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        return _luma16(im), None, None, 16
    raise UnsupportedImage(f"{name}: unsupported pixel format {im.mode}")


def _alpha(im: Image.Image) -> Image.Image | None:
    """The alpha channel, or None when it is fully opaque (no transparency to keep)."""
    alpha = im.getchannel("A")
    return None if alpha.getextrema()[0] == 255 else alpha


def _luma16(im: Image.Image) -> Image.Image:
    """16-bit gray as an 'I;16' image; see read_photo for the 'I' and 'F' rules."""
    if im.mode == "I;16":
        return im
    values = np.asarray(im)
    if im.mode == "F":
        values = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=65535.0, neginf=0.0)
        if values.size and values.max() <= 1.0:
            values *= 65535.0
        np.clip(values, 0.0, 65535.0, out=values)
        np.rint(values, out=values)
    elif im.mode == "I":
        values = np.clip(values, 0, 65535)
    return Image.fromarray(np.ascontiguousarray(values.astype(np.uint16)))


def _is_tinted(colour: Image.Image) -> bool:
    """True when a box-filtered thumbnail shows visible colour (95th-percentile chroma >= 6)."""
    factor = max(1, max(colour.size) // _TINT_SIDE)
    small = np.asarray(colour.reduce(factor) if factor > 1 else colour, dtype=np.int16)
    rgb = small[..., :3]
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    if small.shape[2] == 4:
        chroma = chroma[small[..., 3] >= 128]  # colour under transparency is not seen
    return chroma.size > 0 and float(np.percentile(chroma, 95)) >= _TINT_CHROMA


def _read_exif(im: Image.Image, name: str) -> tuple[bytes | None, int]:
    """(EXIF block to carry with Orientation 1, orientation to apply). Needs the file still open."""
    try:
        exif = im.getexif()
        orientation = exif.get(Base.Orientation, 1)
        orientation = orientation if isinstance(orientation, int) else 1
        raw = im.info.get("exif")
        if im.format == "TIFF":  # IFD0 is the TIFF's own: keep its descriptive tags only
            exif, raw = _descriptive_exif(exif), None
        if not exif:
            return None, orientation
        if raw and orientation == 1:  # untouched: keep the bytes exactly as they were
            return (raw if raw.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + raw), 1
        if Base.Orientation in exif:
            exif[Base.Orientation] = 1
        return exif.tobytes(), orientation
    except _EXIF_ERRORS as e:
        log.warning("%s: EXIF data is unreadable and will not be carried over (%s)", name, e)
        return None, 1


def _tiff_exif(block: bytes) -> Image.Exif:
    """The descriptive part of an EXIF block, to merge into a TIFF's own IFD0."""
    exif = Image.Exif()
    exif.load(block)
    return _descriptive_exif(exif)


def _descriptive_exif(exif: Image.Exif) -> Image.Exif:
    """IFD0's descriptive tags, plus the Exif and GPS sub-IFDs as dicts."""
    kept = Image.Exif()
    for tag in _EXIF_IFD0_TAGS:
        if tag in exif:
            kept[tag] = exif[tag]
    for tag in _EXIF_SUB_IFDS:
        if tag in exif and (sub := exif.get_ifd(tag)):
            kept[tag] = dict(sub)
    return kept


def _rgb_icc(info: dict, name: str) -> bytes | None:
    profile = info.get("icc_profile")
    if not profile:
        return None
    if profile[16:20] != b"RGB ":  # header bytes 16..19: the data colour space signature
        log.info("%s: not carrying its %r ICC profile to the RGB output", name, profile[16:20])
        return None
    return bytes(profile)


def _dpi(info: dict, swap: bool) -> tuple[float, float] | None:
    dpi = info.get("dpi")
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
        return None
    return (y, x) if swap else (x, y)


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


def write_photo(path: Path, rgb: np.ndarray, metadata: PhotoMetadata,
                alpha: np.ndarray | None = None, quality: int = 95,
                forbidden: Iterable[Path] = ()) -> Path:
    """Write an sRGB result atomically, with the source's metadata; returns ``path``.

    ``rgb`` is (H, W, 3) uint8 or uint16 sRGB; ``alpha`` (H, W) uint8 or uint16 or None. The format
    follows the suffix (.jpg/.jpeg, .png, .tif/.tiff, .webp, .bmp). uint16 is written with 16 bits
    per channel to PNG and TIFF and rounded to 8 bits elsewhere. EXIF, ICC profile and DPI go to
    JPEG, PNG, TIFF and WebP (WebP has no DPI field). JPEG is 4:2:0 at ``quality`` and has no
    alpha; WebP is lossy at ``quality``; TIFF is Deflate-compressed.
    Refuses (OutputError) to replace any path in ``forbidden`` (resolved paths, or the same file
    by os.path.samefile); creates missing folders; leaves no temporary file behind on failure.
    """
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"{path.name}: cannot write {path.suffix or 'suffix-less'} files; "
                          "use .jpg, .png, .tif or .webp")
    _check_pixels(rgb, alpha)
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    _refuse_inputs(path, forbidden)
    _ensure_folder(path)
    if fmt not in _ALPHA_FORMATS:
        alpha = None
    with _atomic_file(path) as f:
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


def _refuse_inputs(path: Path, forbidden: Iterable[Path]) -> None:
    target = path.resolve()
    for source in forbidden:
        source = Path(source)
        same = source.resolve() == target
        if not same and path.exists() and source.exists():
            try:
                same = os.path.samefile(path, source)  # hard links, case-insensitive disks
            except OSError:
                same = False
        if same:
            raise OutputError(f"{path.name}: refusing to overwrite an input photo; "
                              "choose another output folder or name")


def _ensure_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise OutputError(f"{path.name}: cannot create the output folder {path.parent}: "
                          "a file is in the way") from e
    except OSError as e:
        raise OutputError(_describe(path, e)) from e


def _describe(path: Path, error: OSError) -> str:
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"{path.name}: the disk is full; free some space or choose another output folder"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path.name}: no permission to write in {path.parent}; choose another output folder"
    return f"{path.name}: cannot be written ({error.strerror or _reason(error)})"


@contextmanager
def _atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file object whose content replaces ``path`` only once fully written and synced."""
    temp = path.with_name(f".{path.name[:200]}.{secrets.token_hex(6)}.part")
    try:
        # os.open with mode 0o666 lets the umask decide permissions, as for any new file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise OutputError(_describe(path, e)) from e
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except (OSError, ValueError) as e:  # ValueError: Pillow's encoders reject what they can't store
        temp.unlink(missing_ok=True)
        message = _describe(path, e) if isinstance(e, OSError) else f"{path.name}: {_reason(e)}"
        raise OutputError(message) from e
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable where the platform allows fsync on a folder (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:  # some filesystems refuse; the file itself is already synced
        log.debug("fsync of folder %s failed: %s", folder, e)
    finally:
        os.close(fd)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 as round(x / 257), with uint16 shifts only (exact for all 65536 values)."""
    if values.dtype == np.uint8:
        return values
    # With w = x + 128, (w - w // 256) // 256 == round(x / 257) for every x (checked exhaustively);
    # clamping first at 65407 (which already rounds to 255) keeps w within uint16.
    rounded = np.minimum(values, 65407)
    rounded += 128
    rounded -= rounded >> 8
    rounded >>= 8
    return rounded.astype(np.uint8)


def _like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """uint8 or uint16 values in ``dtype``: x * 257 up, rounded x / 257 down."""
    if values.dtype == dtype:
        return values
    return _to_uint8(values) if dtype == np.uint8 else values.astype(np.uint16) * 257


def _save_8bit(f: BinaryIO, fmt: str, rgb: np.ndarray, alpha: np.ndarray | None,
               metadata: PhotoMetadata, quality: int) -> None:
    image = Image.fromarray(np.ascontiguousarray(_to_uint8(rgb)))
    if alpha is not None:
        image.putalpha(Image.fromarray(np.ascontiguousarray(_to_uint8(alpha))))
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if fmt == "JPEG":
        # 4:2:0: the colorizer's colour is predicted at a small render size, so full-resolution
        # chroma (4:4:4) would add nothing visible; it cost 20-60 ms more per 12 MP photo.
        options["subsampling"] = 2
    if fmt == "PNG":
        options["compress_level"] = _ZLIB_LEVEL
    if fmt in ("JPEG", "PNG", "WEBP"):
        if metadata.icc_profile:
            options["icc_profile"] = metadata.icc_profile
        if metadata.dpi and fmt != "WEBP":
            options["dpi"] = metadata.dpi
        if metadata.exif:
            if fmt == "JPEG" and len(metadata.exif) > _JPEG_EXIF_LIMIT:
                log.warning("%s: EXIF block of %d bytes does not fit in a JPEG; written without it",
                            getattr(f, "name", "output"), len(metadata.exif))
            else:
                options["exif"] = metadata.exif
    image.save(f, format=fmt, **options)


def _interleave(rgb: np.ndarray, alpha: np.ndarray | None, rows: slice,
                dtype: np.dtype | str) -> np.ndarray:
    """Rows of RGB(A) samples as one (rows, W, 3 or 4) array of ``dtype`` (e.g. '>u2')."""
    block = rgb[rows]
    out = np.empty((*block.shape[:2], 3 if alpha is None else 4), dtype)
    out[..., :3] = block
    if alpha is not None:
        out[..., 3] = alpha[rows]
    return out


def _write_png16(f: BinaryIO, rgb: np.ndarray, alpha: np.ndarray | None,
                 metadata: PhotoMetadata) -> None:
    """A 16-bit RGB(A) PNG: IHDR, iCCP, pHYs, eXIf, IDAT (Sub filter, zlib), IEND."""
    height, width = rgb.shape[:2]
    channels = 3 if alpha is None else 4
    bpp = 2 * channels  # bytes per pixel, the Sub filter's stride

    def chunk(kind: bytes, data: bytes | memoryview) -> None:
        f.write(struct.pack(">I", len(data)) + kind)
        f.write(data)
        f.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF))

    f.write(b"\x89PNG\r\n\x1a\n")
    chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2 if alpha is None else 6, 0, 0, 0))
    if metadata.icc_profile:
        chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(metadata.icc_profile))
    if metadata.dpi:
        x, y = (int(d / 0.0254 + 0.5) for d in metadata.dpi)
        chunk(b"pHYs", struct.pack(">IIB", x, y, 1))
    if metadata.exif:
        chunk(b"eXIf", metadata.exif.removeprefix(b"Exif\x00\x00"))
    compressor = zlib.compressobj(_ZLIB_LEVEL)
    rows_per_block = max(1, (1 << 20) // (width * bpp))
    for top in range(0, height, rows_per_block):
        pixels = _interleave(rgb, alpha, slice(top, top + rows_per_block), ">u2")
        raw = pixels.view(np.uint8).reshape(pixels.shape[0], width * bpp)
        filtered = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
        filtered[:, 0] = 1  # filter type Sub: each byte minus the same byte one pixel left
        filtered[:, 1:bpp + 1] = raw[:, :bpp]
        np.subtract(raw[:, bpp:], raw[:, :-bpp], out=filtered[:, bpp + 1:])
        if data := compressor.compress(filtered):
            chunk(b"IDAT", data)
    chunk(b"IDAT", compressor.flush())
    chunk(b"IEND", b"")


def _write_tiff(f: BinaryIO, rgb: np.ndarray, alpha: np.ndarray | None,
                metadata: PhotoMetadata) -> None:
    """An 8- or 16-bit RGB(A) little-endian TIFF: Deflate strips with predictor 2, then one IFD.

    ``alpha`` has rgb's dtype. A TIFF's IFD0 is also its EXIF IFD0, so only the descriptive EXIF
    tags and the Exif/GPS sub-IFDs are merged into it.
    """
    height, width = rgb.shape[:2]
    channels = 3 if alpha is None else 4
    bits = 8 * rgb.dtype.itemsize
    rows_per_strip = max(1, (1 << 18) // (width * rgb.dtype.itemsize * channels))
    strips = []
    for top in range(0, height, rows_per_strip):
        rows = slice(top, top + rows_per_strip)
        pixels = _interleave(rgb, alpha, rows, rgb.dtype.newbyteorder("<"))
        predicted = np.empty_like(pixels)  # Predictor 2: each sample minus its left neighbour
        predicted[:, 0] = pixels[:, 0]
        np.subtract(pixels[:, 1:], pixels[:, :-1], out=predicted[:, 1:])
        strips.append(zlib.compress(predicted, _ZLIB_LEVEL))

    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if metadata.exif:
        for tag, value in _tiff_exif(metadata.exif).items():
            ifd[tag] = value  # sub-IFDs arrive as dicts, which tobytes writes as nested IFDs
    ifd[256], ifd[257] = width, height                    # ImageWidth, ImageLength
    ifd[258] = (bits,) * channels                         # BitsPerSample
    ifd[259], ifd[262], ifd[277] = 8, 2, channels         # Deflate, RGB, SamplesPerPixel
    ifd[278] = rows_per_strip
    # StripOffsets are relative to the end of the IFD; ImageFileDirectory_v2.tobytes adds it.
    ifd[273] = tuple(np.cumsum([0] + [len(s) for s in strips[:-1]]).tolist())
    ifd[279] = tuple(len(s) for s in strips)              # StripByteCounts
    ifd[284], ifd[317] = 1, 2                             # PlanarConfiguration, Predictor
    ifd[339] = (1,) * channels                            # SampleFormat: unsigned
    if alpha is not None:
        ifd[338] = (2,)                                   # ExtraSamples: unassociated alpha
    if metadata.dpi:
        ifd[282], ifd[283] = (TiffImagePlugin.IFDRational(d) for d in metadata.dpi)
        ifd[296] = 2                                      # ResolutionUnit: inch
    if metadata.icc_profile:
        ifd[34675] = metadata.icc_profile
    f.write(b"II*\x00" + struct.pack("<I", 8))
    f.write(ifd.tobytes(8))
    for strip in strips:
        f.write(strip)
