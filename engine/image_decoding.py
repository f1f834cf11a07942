"""Opening photo files safely and taking them apart, for engine.imaging's readers.

Identifies a file among the formats we read (JPEG, PNG, TIFF, WebP, BMP) with our own
decompression-bomb guard, decodes it so a damaged file fails loudly, splits the pixels into
luminance, alpha and a colour view (modes, 16-bit and float gray), judges whether the source is
tinted, and reads the metadata to carry over: EXIF (orientation), ICC profile and DPI.
"""

from __future__ import annotations

import logging
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import (  # importing a plugin registers its reader in Image.OPEN, used by _open_image
    BmpImagePlugin,  # noqa: F401
    Image,
    ImageFile,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)
from PIL.ExifTags import IFD, Base

from engine.errors import ImageTooLarge, UnsupportedImage, first_line

log = logging.getLogger(__name__)

_READ_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")

# Errors Pillow's plugins raise on damaged or hostile files (Image.open treats several of them as
# "not this format", load() lets them through).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
                  struct.error, zlib.error)
_EXIF_ERRORS = (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error)

_TINT_SIDE = 64          # tint is judged on a thumbnail about this many pixels across
_TINT_CHROMA = 6         # 95th percentile of max(R,G,B) - min(R,G,B) at or above this: tinted

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
            reason = first_line(e)
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
        raise UnsupportedImage(f"{name}: damaged or truncated image ({first_line(e)})") from e


def _too_large(name: str, error: Image.DecompressionBombError) -> ImageTooLarge:
    return ImageTooLarge(f"{name}: too large to decode safely ({first_line(error)})")


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
