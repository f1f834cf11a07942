"""Opening photo files safely and taking them apart, for engine.imaging's readers.

Identifies a file among the formats we read (JPEG, PNG, TIFF, WebP, BMP) with our own
decompression-bomb guard, decodes it so a damaged file fails loudly, splits the pixels into
luminance, alpha and a colour view (modes, 16-bit and float gray), judges whether the source is
tinted, and reads the metadata to carry over: EXIF (orientation), ICC profile and DPI.
Hostile inputs fail with one line: pipes, devices and symlink loops are refused without blocking,
control characters in file names are escaped (``_shown``), absurd DPI values are dropped.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO

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

from engine.errors import ImageTooLarge, UnsupportedImage, first_line, printable
from engine.imaging.tint import has_visible_colour

log = logging.getLogger(__name__)

_READ_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")
_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WebP", "BMP": "BMP"}

# O_NONBLOCK: opening a named pipe would otherwise wait for a writer, hanging the batch for good.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0)

# Escaped beyond the C0 controls that engine.cli.runtime.printable handles: C1 controls, the Unicode
# line and paragraph separators (str.splitlines, dialogs and some terminals break lines there) and
# the lone surrogates that stand for undecodable bytes in a name (they cannot be encoded to UTF-8).
_MORE_CONTROLS = {i: f"\\x{i:02x}" for i in range(0x80, 0xA0)} | {
    i: f"\\u{i:04x}" for i in (0x2028, 0x2029, *range(0xD800, 0xE000))
}

# Plausible resolutions in dots per inch. Above 65535 JFIF cannot store it (Pillow silently wraps
# it round) and no scanner comes near; 0, negative, NaN or a huge rational is a damaged field.
_DPI_RANGE = (1.0, 65535.0)

# Pillow scales the pixels of a 2- and 4-bit gray PNG to 0..255 but keeps its tRNS key in the file's
# scale (0..3, 0..15), so no pixel would ever match it: PNG raw mode -> the factor to scale it by.
_LOW_BIT_GRAY = {"L;2": 85, "L;4": 17}

# Errors Pillow's plugins raise on damaged or hostile files (Image.open treats several of them as
# "not this format", load() lets them through).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error, zlib.error)
_EXIF_ERRORS = (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error)

_TINT_SIDE = 64  # tint is judged on a thumbnail about this many pixels across (engine.imaging.tint)

# EXIF Orientation -> the transpose that shows the photo upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Descriptive IFD0 tags worth carrying; a TIFF's IFD0 also holds its strip layout, which must not.
_EXIF_IFD0_TAGS = (
    Base.ImageDescription,
    Base.Make,
    Base.Model,
    Base.Orientation,
    Base.Software,
    Base.DateTime,
    Base.Artist,
    Base.WhitePoint,
    Base.PrimaryChromaticities,
    Base.Copyright,
)
_EXIF_SUB_IFDS = (IFD.Exif, IFD.GPSInfo)


def _shown(name: str) -> str:
    """A file name fit for a one-line message: control characters as escapes (``\\n``, ``\\x85``).

    The same escapes as engine.cli.runtime.printable, so the command line leaves them as they are.
    """
    return printable(name).translate(_MORE_CONTROLS)


def _open_file(path: Path) -> BinaryIO:
    """``path`` opened for binary reading; UnsupportedImage for anything but a regular file.

    Never blocks: a named pipe, socket or device named like a photo is refused, not read.
    """
    name = _shown(path.name)
    try:
        # stat before opening, so no device is ever opened (opening one can rewind a tape)
        _require_regular(os.stat(path).st_mode, name)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        raise UnsupportedImage(f"{name}: {_open_problem(path, e)}") from e
    try:
        _require_regular(os.fstat(fd).st_mode, name)  # the path may have changed since the stat
        if _NONBLOCK:
            os.set_blocking(fd, True)  # a regular file reads as usual from here on
        return os.fdopen(fd, "rb")
    except OSError as e:
        os.close(fd)
        raise UnsupportedImage(f"{name}: cannot be read ({e.strerror or e})") from e
    except BaseException:
        os.close(fd)  # fdopen did not take it over: nothing else would close it
        raise


def _open_problem(path: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link that loops"
    if isinstance(error, FileNotFoundError):
        return "a symbolic link that points nowhere" if os.path.islink(path) else "no such file"
    return f"cannot be read ({error.strerror or error})"


def _require_regular(mode: int, name: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise UnsupportedImage(f"{name}: is a folder, not a photo")
    kind = (
        "a named pipe"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a special file"
    )
    raise UnsupportedImage(f"{name}: not a regular file ({kind}), not a photo")


def _open_image(fp: BinaryIO, name: str, max_pixels: int) -> ImageFile.ImageFile:
    """Identify the file among the allowed formats and check its size, without decoding pixels.

    This is Image.open's identification loop with our own pixel guard in place of Pillow's global
    one (which warns above 89 MP and refuses above 179 MP whatever ``max_pixels`` says).
    """
    prefix = fp.read(16)
    reason = unsupported = None
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
            if unsupported is None and "unsupported" in reason.lower():
                unsupported = fmt, reason  # a valid file of a variant the plugin cannot read
            continue
        width, height = im.size
        if width * height > max_pixels:
            raise ImageTooLarge(f"{name}: {width}x{height} pixels is over the {max_pixels / 1e6:g}-megapixel limit")
        return im
    if unsupported is not None:
        fmt, why = unsupported
        instead = " or ".join(other for other in ("PNG", "TIFF") if other != fmt)
        raise UnsupportedImage(f"{name}: unsupported {_FORMAT_NAMES[fmt]} variant ({why}); convert it to {instead}")
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
    _scale_gray_key(im)  # needs the tile, which load() clears
    try:
        im.load()
    except Image.DecompressionBombError as e:  # TIFF checks Pillow's own limit while loading
        raise _too_large(name, e) from e
    except _DECODE_ERRORS as e:
        raise UnsupportedImage(f"{name}: damaged or truncated image ({first_line(e)})") from e


def _scale_gray_key(im: ImageFile.ImageFile) -> None:
    """Put a 2- or 4-bit gray PNG's tRNS key on its decoded pixels' 0..255 scale (_LOW_BIT_GRAY)."""
    key = im.info.get("transparency")
    if im.format == "PNG" and im.mode == "L" and isinstance(key, int) and im.tile:
        rawmode = im.tile[0][3]  # the tile's args: the PNG raw mode
        factor = _LOW_BIT_GRAY.get(rawmode) if isinstance(rawmode, str) else None
        if factor and key * factor <= 255:  # a later Pillow that scales the key itself: leave it
            im.info["transparency"] = key * factor


def _too_large(name: str, error: Image.DecompressionBombError) -> ImageTooLarge:
    return ImageTooLarge(f"{name}: too large to decode safely ({first_line(error)})")


def _convert(im: Image.Image, mode: str, name: str) -> Image.Image:
    try:
        return im.convert(mode)
    except ValueError as e:
        raise UnsupportedImage(f"{name}: unsupported pixel format {im.mode} ({e})") from e


def _split_channels(im: Image.Image, name: str) -> tuple[Image.Image, Image.Image | None, Image.Image | None, int]:
    """(luma as 'L' or 'I;16', alpha like it or None, RGB(A) image to judge tint or None, bits).

    A gray tRNS key (``info['transparency']`` of a '1', 'L' or 16-bit PNG) becomes alpha.
    """
    mode = im.mode
    if mode in ("P", "PA") or (mode == "RGB" and "transparency" in im.info) or mode == "RGBa":
        im = _convert(im, "RGBA", name)
    elif (mode in ("1", "L") and "transparency" in im.info) or mode == "La":
        im = _convert(im, "LA", name)  # Pillow turns the key into alpha (for '1' it is 0 or 255)
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
        return _luma16(im), _key_alpha16(im), None, 16
    raise UnsupportedImage(f"{name}: unsupported pixel format {im.mode}")


def _alpha(im: Image.Image) -> Image.Image | None:
    """The alpha channel, or None when it is fully opaque (no transparency to keep)."""
    alpha = im.getchannel("A")
    return None if alpha.getextrema()[0] == 255 else alpha


def _key_alpha16(im: Image.Image) -> Image.Image | None:
    """A 16-bit gray tRNS key as 'I;16' alpha (0 where a pixel equals it, else 65535), or None."""
    key = im.info.get("transparency")
    if im.mode == "F" or not isinstance(key, int):
        return None
    clear = np.asarray(im) == key  # the raw samples, before _luma16 clips 'I' values
    if not clear.any():
        return None
    return Image.fromarray(np.where(clear, 0, 65535).astype(np.uint16))


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
    """True when a box-filtered thumbnail shows visible colour (``engine.imaging.tint.has_visible_colour``)."""
    factor = max(1, max(colour.size) // _TINT_SIDE)
    small = np.asarray(colour.reduce(factor) if factor > 1 else colour, dtype=np.int16)
    visible = small[..., 3] >= 128 if small.shape[2] == 4 else None  # colour under transparency is not seen
    return has_visible_colour(small[..., :3], visible)


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
    for ifd in _EXIF_SUB_IFDS:
        if ifd in exif and (sub := exif.get_ifd(ifd)):
            kept[ifd] = dict(sub)
    return kept


def _rgb_icc(info: dict, name: str) -> bytes | None:
    profile = info.get("icc_profile")
    if not profile:
        return None
    if profile[16:20] != b"RGB ":  # header bytes 16..19: the data colour space signature
        log.info("%s: not carrying its %r ICC profile to the RGB output", name, profile[16:20])
        return None
    return bytes(profile)


def _valid_dpi(dpi: Any) -> tuple[float, float] | None:
    """(x, y) as floats when ``dpi`` (whatever a file's header held) is two numbers within
    _DPI_RANGE, else None."""
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return None
    low, high = _DPI_RANGE
    if not (low <= x <= high and low <= y <= high):  # NaN fails every comparison
        return None
    return x, y


def _dpi(info: dict, swap: bool, name: str) -> tuple[float, float] | None:
    """The upright photo's (x, y) dpi; None when absent or absurd (logged: it is not carried)."""
    dpi = info.get("dpi")
    if dpi is None:
        return None
    valid = _valid_dpi(dpi)
    if valid is None:
        log.info(
            "%s: not carrying its resolution %r: not a number of dots per inch from %g to %g", name, dpi, *_DPI_RANGE
        )
        return None
    x, y = valid
    return (y, x) if swap else (x, y)
