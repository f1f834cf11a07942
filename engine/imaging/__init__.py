"""Reading photos with their metadata and writing results, safely (no torch).

- ``engine.imaging.photo``: ``Photo``, ``PhotoMetadata`` and the file-type rules (a leaf module).
- ``engine.imaging.reading``: ``read_photo``, ``read_preview_rgb``, ``read_rgb`` (pixels only, for training).
- ``engine.imaging.writing``: ``write_photo`` (atomic, never over a file that is not Revive's).
- ``engine.imaging.decoding`` / ``encoding``: Pillow's plugins behind our own guards, and the
  16-bit PNG/TIFF encoders Pillow lacks.
"""

from engine.imaging.photo import (
    FORMATS,
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    OUTPUT_FORMATS,
    Photo,
    PhotoMetadata,
    format_of,
    is_image_path,
    output_suffix,
)
from engine.imaging.reading import read_photo, read_preview_rgb, read_rgb
from engine.imaging.writing import write_photo

__all__ = [
    "FORMATS",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "OUTPUT_FORMATS",
    "Photo",
    "PhotoMetadata",
    "format_of",
    "is_image_path",
    "output_suffix",
    "read_photo",
    "read_preview_rgb",
    "read_rgb",
    "write_photo",
]
