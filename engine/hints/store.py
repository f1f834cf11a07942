"""Where the app keeps each photo's hints: the user data folder, keyed by the photo's content.

Hints belong to a photo, not to a path: a photo moved, renamed or copied keeps its hints, and
nothing is ever written beside an original. The key is the SHA-256 of the file's bytes (a few
tens of milliseconds for a large scan: call it off the GUI thread). Files are written atomically;
a damaged file reads as "no hints" with a warning, never a crash.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from engine.atomic_files import write_text_atomically
from engine.hints.schema import HintError, PhotoHints
from engine.paths import revive_home

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_MAX_HINT_FILE = 16 * 1024 * 1024


def photo_key(path: Path) -> str:
    """The content key of a photo file: hex SHA-256 of its bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HintStore:
    """Per-photo hints in ``folder`` (default: ``<user data>/hints``), one JSON file per photo."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else revive_home() / "hints"

    def path_for(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a photo key: {key[:80]!r}")
        return self.folder / f"{key}.json"

    def load(self, key: str) -> PhotoHints | None:
        """The saved hints of the photo with this key, or None."""
        path = self.path_for(key)
        try:
            if os.stat(path).st_size > _MAX_HINT_FILE:
                log.warning("%s is too large to be a hint file; ignored", path)
                return None
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            log.warning("cannot read saved hints %s: %s", path, error)
            return None
        try:
            return PhotoHints.from_json(text, path.name)
        except HintError as error:
            log.warning("saved hints are damaged and were ignored: %s", error)
            return None

    def save(self, key: str, hints: PhotoHints) -> None:
        """Save (or, for empty hints, forget) the hints of the photo with this key."""
        path = self.path_for(key)
        if hints.is_empty:
            path.unlink(missing_ok=True)
            return
        write_text_atomically(path, hints.to_json() + "\n")

    def hints_for(self, photo: Path) -> PhotoHints | None:
        """The saved hints of a photo file (hashing it), or None; never raises for an unreadable file."""
        try:
            return self.load(photo_key(photo))
        except OSError:
            return None
