"""The photos opened in this session and where each one stands. Plain Python, no Qt.

The controller owns one ``PhotoSession``; the photo list only mirrors it. Paths are the identity of
a photo (the same file opened twice is one entry).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from engine.batch_plan import walk_images
from engine.imaging import is_image_path


class PhotoStatus(enum.Enum):
    NEW = "Not colorized"
    QUEUED = "Queued"
    WORKING = "Colorizing…"
    DONE = "Done"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


@dataclass
class PhotoEntry:
    source: Path
    status: PhotoStatus = PhotoStatus.NEW
    message: str = ""  # the failure reason, or a detail such as the time taken
    cache_path: Path | None = None  # the full-resolution result (.npy), once done
    full_size: tuple[int, int] | None = None


@dataclass
class PhotoSession:
    entries: dict[Path, PhotoEntry] = field(default_factory=dict)

    def add(self, paths: Iterable[Path]) -> list[PhotoEntry]:
        """Add new photos (already known ones are left as they are); returns the new entries."""
        added = []
        for path in paths:
            key = Path(path)
            if key not in self.entries:
                self.entries[key] = entry = PhotoEntry(key)
                added.append(entry)
        return added

    def get(self, path: Path) -> PhotoEntry | None:
        return self.entries.get(Path(path))

    def paths(self) -> list[Path]:
        return list(self.entries)

    def with_status(self, *statuses: PhotoStatus) -> list[PhotoEntry]:
        return [e for e in self.entries.values() if e.status in statuses]

    def counts(self) -> dict[PhotoStatus, int]:
        counts = {status: 0 for status in PhotoStatus}
        for entry in self.entries.values():
            counts[entry.status] += 1
        return counts


def expand_paths(paths: Sequence[Path], recursive: bool = True) -> tuple[list[Path], int]:
    """Files and folders -> the image files among them, in a stable order, and how many dropped
    files were skipped because they are not images. Folders are walked (hidden ones skipped)."""
    found: list[Path] = []
    skipped = 0
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(walk_images(path, recursive))
        elif path.is_file():
            if is_image_path(path):
                found.append(path)
            else:
                skipped += 1
        else:
            skipped += 1
    unique = list(dict.fromkeys(found))
    return unique, skipped

