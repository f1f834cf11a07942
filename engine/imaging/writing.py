"""Writing results atomically, with the source's metadata, never over a file that is not Revive's.

``write_photo`` writes an sRGB result atomically: a hidden ``.part`` file in the target folder,
fsync, then a rename (or a link, when nothing may be replaced). The 16-bit PNG/TIFF encoders live
in ``engine.imaging.encoding``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from engine.atomic_files import atomic_file, ensure_folder
from engine.errors import OutputError
from engine.imaging.decoding import _shown
from engine.imaging.encoding import _like, _refuse_inputs, _save_8bit, _write_png16, _write_tiff
from engine.imaging.photo import _ALPHA_FORMATS, _WRITE_FORMATS, PhotoMetadata

# The largest side each format can hold (JPEG's 16-bit header fields; WebP's 14-bit ones): past
# it the encoder fails with "broken data stream", after all the work, saying nothing useful.
_MAX_SIDE = {"JPEG": 65535, "WEBP": 16383}


def write_photo(
    path: Path,
    rgb: np.ndarray,
    metadata: PhotoMetadata,
    alpha: np.ndarray | None = None,
    quality: int = 95,
    forbidden: Iterable[Path] = (),
    replace: bool = False,
) -> Path:
    """Write an sRGB result atomically, with the source's metadata; returns ``path``.

    ``rgb`` is (H, W, 3) uint8 or uint16 sRGB; ``alpha`` (H, W) uint8 or uint16 or None. The format
    follows the suffix (.jpg/.jpeg, .png, .tif/.tiff, .webp, .bmp). uint16 is written with 16 bits
    per channel to PNG and TIFF and rounded to 8 bits elsewhere. EXIF, ICC profile and DPI go to
    JPEG, PNG, TIFF and WebP (WebP has no DPI field; a DPI outside 1..65535 is left out, never
    a failure). JPEG is 4:2:0 at ``quality`` and has no alpha; WebP is lossy at ``quality``;
    TIFF is Deflate-compressed.
    Never replaces an existing file unless ``replace`` is True (the caller has proved the file at
    ``path`` is Revive's own, see ``engine.batch.ledger``), and even then refuses (OutputError) to
    replace any path in ``forbidden`` (resolved paths, or the same file by os.path.samefile);
    creates missing folders; leaves no temporary file behind on failure.
    """
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(
            f"{_shown(path.name)}: cannot write "
            f"{_shown(path.suffix) or 'suffix-less'} files; "
            "use .jpg, .png, .tif or .webp"
        )
    _check_pixels(rgb, alpha)
    limit = _MAX_SIDE.get(fmt)
    if limit is not None and max(rgb.shape[:2]) > limit:
        raise OutputError(
            f"{_shown(path.name)}: a {fmt} file holds at most {limit} pixels a side, and this result is"
            f" {rgb.shape[1]} x {rgb.shape[0]}: write it as PNG or TIFF (--format png)"
        )
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
            _write_png16(f, rgb, None if alpha is None else _like(alpha, np.dtype(np.uint16)), metadata)
        else:
            _save_8bit(f, fmt, rgb, alpha, metadata, quality)
    return path


def _check_pixels(rgb: np.ndarray, alpha: np.ndarray | None) -> None:
    if not (
        isinstance(rgb, np.ndarray)
        and rgb.ndim == 3
        and rgb.shape[2] == 3
        and rgb.dtype in (np.uint8, np.uint16)
        and rgb.shape[0]
        and rgb.shape[1]
    ):
        raise ValueError(
            f"rgb must be a non-empty (H, W, 3) uint8 or uint16 array, got "
            f"{getattr(rgb, 'shape', type(rgb))} {getattr(rgb, 'dtype', '')}"
        )
    if alpha is not None and (alpha.shape != rgb.shape[:2] or alpha.dtype not in (np.uint8, np.uint16)):
        raise ValueError(f"alpha must be a {rgb.shape[:2]} uint8 or uint16 array, got {alpha.shape} {alpha.dtype}")
