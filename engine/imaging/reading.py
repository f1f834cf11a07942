"""Reading photos for colorization: upright luminance, alpha and the metadata to carry over.

``read_photo`` turns a JPEG, PNG, TIFF, WebP or BMP file into gamma-encoded luminance (ITU-R 601
luma, as Pillow's ``'L'`` conversion), an optional alpha channel and the metadata to carry to the
output (EXIF with Orientation reset to 1, ICC profile, DPI). Opening, decoding and metadata live
in ``engine.imaging.decoding``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PIL.ExifTags import Base

from engine.imaging.decoding import (
    _EXIF_ERRORS,
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
from engine.imaging.encoding import _to_uint8
from engine.imaging.photo import MAX_PIXELS, Photo, PhotoMetadata


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
    metadata = PhotoMetadata(
        exif=exif,
        icc_profile=_rgb_icc(info, name),
        dpi=_dpi(info, swap=orientation in (5, 6, 7, 8), name=name),
        source_format=source_format,
        source_mode=source_mode,
    )
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return Photo(
        luma=np.asarray(luma).astype(dtype, copy=False),
        alpha=None if alpha is None else np.asarray(alpha).astype(dtype, copy=False),
        bit_depth=bit_depth,
        tinted=colour is not None and _is_tinted(colour),
        metadata=metadata,
    )


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
    view = _eight_bit_view(im, name)
    view.thumbnail((max_side, max_side))
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        view = view.transpose(method)
    return np.asarray(view.convert("RGB"))


def read_rgb(path: Path, draft: int | None = None, max_pixels: int = MAX_PIXELS) -> tuple[Image.Image, tuple[int, int]]:
    """A photo's pixels upright in 8-bit RGB, for training and dataset checks: (image, the file's
    own (width, height) as stored, before drafting and rotation).

    The same guards as ``read_photo`` (regular files only, the ``max_pixels`` check from the header,
    the five formats, damaged files refused) at the cost of a plain ``Image.open``: of the EXIF data
    only the orientation is read. With ``draft``, JPEGs decode at the smallest DCT scale that keeps
    both sides at least ``draft`` pixels (``Image.draft``). Transparency is dropped (the colour under
    it is kept); 16-bit data is rounded to 8 bits. Raises ImageTooLarge or UnsupportedImage.
    """
    path = Path(path)
    name = _shown(path.name)
    with _open_file(path) as fp:
        im = _open_image(fp, name, max_pixels)
        stored_size = im.size
        if draft is not None and im.format in ("JPEG", "MPO"):
            im.draft("RGB", (draft, draft))
        _load(im, name)
        orientation = _orientation(im)
    view = _eight_bit_view(im, name)
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        view = view.transpose(method)
    return view.convert("RGB"), stored_size


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1..8), 1 when absent or unreadable; nothing else of the EXIF is parsed."""
    try:
        value = im.getexif().get(Base.Orientation, 1)
    except _EXIF_ERRORS:
        return 1
    return value if isinstance(value, int) and value in range(1, 9) else 1


def _eight_bit_view(im: Image.Image, name: str) -> Image.Image:
    """``im`` as an 8-bit 'L' or 'RGB' image: 16-bit and float gray rounded (see read_photo's rules),
    other modes converted (alpha dropped)."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        return Image.fromarray(_to_uint8(np.asarray(_luma16(im)).astype(np.uint16, copy=False)))
    if im.mode in ("L", "RGB"):
        return im
    return _convert(im, "L" if im.mode in ("1", "LA", "La") else "RGB", name)
