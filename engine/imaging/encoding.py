"""Writing results for engine.imaging: atomic files and the encoders Pillow lacks.

Every output goes through ``engine.atomic_files`` (a hidden ``.part`` file, fsync, ``os.replace``).
Pillow cannot write 16-bit-per-channel RGB, so 16-bit PNG and all TIFF
are encoded here with numpy and zlib (PNG: Sub filter; TIFF: Deflate with horizontal-differencing
predictor, tags serialised by Pillow's ``ImageFileDirectory_v2``, which also writes the EXIF
sub-IFDs libtiff refuses). 8-bit JPEG, PNG, WebP and BMP go through Pillow.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, TiffImagePlugin

from engine.errors import OutputError
from engine.imaging.decoding import _DPI_RANGE, _descriptive_exif, _shown, _valid_dpi
from engine.imaging.photo import PhotoMetadata

log = logging.getLogger(__name__)

_JPEG_EXIF_LIMIT = 65533  # an APP1 segment holds at most this many bytes
# PNG/TIFF Deflate level. Measured on a 12 MP photo: level 1 takes 0.4 s, 3 takes 1.0 s and
# Pillow's default 6 takes 3.6 s, for files 14.2, 12.9 and 12.5 MB: noisy photos barely compress.
_ZLIB_LEVEL = 1


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
            raise OutputError(
                f"{_shown(path.name)}: refusing to overwrite an input photo; choose another output folder or name"
            )


def _output_dpi(metadata: PhotoMetadata) -> tuple[float, float] | None:
    """The DPI to write, or None. A caller's own metadata may hold any value; one that no format
    can store (PNG: a uint32 of dots per metre, JFIF: a uint16) is left out, never a failure."""
    dpi = _valid_dpi(metadata.dpi)
    if dpi is None and metadata.dpi is not None:
        log.info(
            "writing without the resolution %r: not a number of dots per inch from %g to %g", metadata.dpi, *_DPI_RANGE
        )
    return dpi


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


def _save_8bit(
    f: BinaryIO, fmt: str, rgb: np.ndarray, alpha: np.ndarray | None, metadata: PhotoMetadata, quality: int
) -> None:
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
        if fmt != "WEBP" and (dpi := _output_dpi(metadata)):
            options["dpi"] = dpi
        if metadata.exif:
            if fmt == "JPEG" and len(metadata.exif) > _JPEG_EXIF_LIMIT:
                log.warning(
                    "%s: EXIF block of %d bytes does not fit in a JPEG; written without it",
                    _shown(str(getattr(f, "name", "output"))),
                    len(metadata.exif),
                )
            else:
                options["exif"] = metadata.exif
    image.save(f, format=fmt, **options)


def _tiff_exif(block: bytes) -> Image.Exif:
    """The descriptive part of an EXIF block, to merge into a TIFF's own IFD0."""
    exif = Image.Exif()
    exif.load(block)
    return _descriptive_exif(exif)


def _interleave(rgb: np.ndarray, alpha: np.ndarray | None, rows: slice, dtype: np.dtype | str) -> np.ndarray:
    """Rows of RGB(A) samples as one (rows, W, 3 or 4) array of ``dtype`` (e.g. '>u2')."""
    block = rgb[rows]
    out = np.empty((*block.shape[:2], 3 if alpha is None else 4), dtype)
    out[..., :3] = block
    if alpha is not None:
        out[..., 3] = alpha[rows]
    return out


def _write_png16(f: BinaryIO, rgb: np.ndarray, alpha: np.ndarray | None, metadata: PhotoMetadata) -> None:
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
    if dpi := _output_dpi(metadata):
        # pHYs: dots per metre as uint32; the clamp only guards the struct (dpi is 1..65535)
        x, y = (min(max(int(d / 0.0254 + 0.5), 1), 0xFFFFFFFF) for d in dpi)
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
        filtered[:, 1 : bpp + 1] = raw[:, :bpp]
        np.subtract(raw[:, bpp:], raw[:, :-bpp], out=filtered[:, bpp + 1 :])
        # numpy's stubs declare ndarray's buffer protocol (__buffer__) only for Python >= 3.12
        if data := compressor.compress(filtered):  # type: ignore[arg-type]
            chunk(b"IDAT", data)
    chunk(b"IDAT", compressor.flush())
    chunk(b"IEND", b"")


def _write_tiff(f: BinaryIO, rgb: np.ndarray, alpha: np.ndarray | None, metadata: PhotoMetadata) -> None:
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
        # numpy's stubs declare ndarray's buffer protocol (__buffer__) only for Python >= 3.12
        strips.append(zlib.compress(predicted, _ZLIB_LEVEL))  # type: ignore[arg-type]

    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if metadata.exif:
        for tag, value in _tiff_exif(metadata.exif).items():
            ifd[tag] = value  # sub-IFDs arrive as dicts, which tobytes writes as nested IFDs
    ifd[256], ifd[257] = width, height  # ImageWidth, ImageLength
    ifd[258] = (bits,) * channels  # BitsPerSample
    ifd[259], ifd[262], ifd[277] = 8, 2, channels  # Deflate, RGB, SamplesPerPixel
    ifd[278] = rows_per_strip
    # StripOffsets are relative to the end of the IFD; ImageFileDirectory_v2.tobytes adds it.
    ifd[273] = tuple(np.cumsum([0] + [len(s) for s in strips[:-1]]).tolist())
    ifd[279] = tuple(len(s) for s in strips)  # StripByteCounts
    ifd[284], ifd[317] = 1, 2  # PlanarConfiguration, Predictor
    ifd[339] = (1,) * channels  # SampleFormat: unsigned
    if alpha is not None:
        ifd[338] = (2,)  # ExtraSamples: unassociated alpha
    if dpi := _output_dpi(metadata):  # finite and in range: a rational of two uint32s holds it
        ifd[282], ifd[283] = (TiffImagePlugin.IFDRational(d) for d in dpi)
        ifd[296] = 2  # ResolutionUnit: inch
    if metadata.icc_profile:
        ifd[34675] = metadata.icc_profile
    f.write(b"II*\x00" + struct.pack("<I", 8))
    f.write(ifd.tobytes(8))
    for strip in strips:
        f.write(strip)
