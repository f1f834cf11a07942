"""The photos opened in this session and where each one stands. Plain Python, no Qt.

The controller owns one ``PhotoSession``; the photo list only mirrors it. Paths are the identity of
a photo (the same file opened twice is one entry).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from engine.batch.folder_scan import file_problem, scan_folder
from engine.batch.ledger import real_path
from engine.hints.schema import ColourAdjust, PhotoHints, ReferenceStats
from engine.hints.store import HintStore
from engine.imaging import is_image_path
from gui.models.restoration_choice import AppliedRestoration
from gui.models.tuning import Tuning


class PhotoStatus(enum.Enum):
    NEW = "Not colorized"
    QUEUED = "Queued"
    WORKING = "Colorizing…"
    DONE = "Done"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    ASK = "Already in colour"  # waiting for the user to say what to do with it
    KEPT = "Kept its colours"


class ColourChoice(enum.Enum):
    """What to do with a photo that is already in colour (asked once per photo, remembered)."""

    KEEP = "keep"  # leave it as it is: nothing to colorize
    RESTORE = "restore"  # colorize from its gray tones, pulled toward its own colours (faded prints)
    RECOLOR = "recolor"  # colorize from its gray tones, as if it were black and white


WAITING = (PhotoStatus.QUEUED, PhotoStatus.WORKING)


def photo_hints(
    saved: PhotoHints | None, choice: ColourChoice | None, reference: ReferenceStats | None
) -> PhotoHints | None:
    """The hints a photo is colorized with: the user's own (saved for it) when it has any; else,
    for a colour photo being restored, its own colours as the reference to match; else none.

    A restored photo's reference is where the user's hints start from (the hint panel shows it and
    can forget it); once the user has hinted the photo, the saved hints are the whole story.
    """
    if saved is not None and not saved.is_empty:
        return saved
    if choice == ColourChoice.RESTORE and reference is not None:
        return PhotoHints(adjust=ColourAdjust(reference=reference, match=1.0))
    return None


def any_saved_hints(store: HintStore | None) -> bool:
    """True when ``store`` holds hints of any photo: finding a photo's hints hashes its file, which
    is skipped for every photo of a user who never saved any."""
    return store is not None and store.folder.is_dir() and next(store.folder.glob("*.json"), None) is not None


@dataclass
class PhotoEntry:
    source: Path
    status: PhotoStatus = PhotoStatus.NEW
    message: str = ""  # the failure reason, or a detail such as the time taken
    cache_path: Path | None = None  # the full-resolution result (.npy), once done
    full_size: tuple[int, int] | None = None
    kind: str | None = None  # "gray", "tinted" or "colour" (engine.imaging.tint.classify), once looked at
    colour_choice: ColourChoice | None = None  # for a colour photo, once the user said
    hints: PhotoHints | None = None  # given to the colorizer with this photo (``photo_hints``)
    saved_hints: PhotoHints | None = None  # the user's own, saved for this photo (engine.hints.store)
    result_hints: PhotoHints | None = None  # the hints the result on show was made with
    made_with: Tuning | None = None  # the settings of the result on show
    render_size: int = 0  # the render size that result used
    saving: int = 0  # generation of a re-tune whose full-resolution result is being saved (0: none)
    restoration: AppliedRestoration | None = None  # its repair before colour (the Restore tab), once applied


@dataclass
class PhotoSession:
    entries: dict[Path, PhotoEntry] = field(default_factory=dict)
    _by_real: dict[str, Path] = field(default_factory=dict)  # a file's real path -> its entry's key

    def add(self, paths: Iterable[Path], reals: Sequence[str] | None = None) -> list[PhotoEntry]:
        """Add new photos (already known ones are left as they are); returns the new entries.
        ``reals``: each path's real path (``expand_paths`` finds them off the GUI thread), so the
        same file reached through a link (a folder dropped again by a linked name) is known too."""
        added = []
        for i, path in enumerate(paths):
            key = Path(path)
            real = reals[i] if reals is not None else None
            if key in self.entries or (real is not None and real in self._by_real):
                continue
            self.entries[key] = entry = PhotoEntry(key)
            if real is not None:
                self._by_real[real] = key
            added.append(entry)
        return added

    def knows(self, path: Path, real: str | None = None) -> bool:
        """True when ``path`` (or the file at ``real``) is in the list."""
        return Path(path) in self.entries or (real is not None and real in self._by_real)

    def get(self, path: Path) -> PhotoEntry | None:
        return self.entries.get(Path(path))

    def remove(self, paths: Iterable[Path]) -> list[PhotoEntry]:
        """Forget photos; returns the entries removed."""
        removed = [entry for entry in (self.entries.pop(Path(p), None) for p in paths) if entry is not None]
        if removed:
            gone = {entry.source for entry in removed}
            self._by_real = {real: key for real, key in self._by_real.items() if key not in gone}
        return removed

    def paths(self) -> list[Path]:
        return list(self.entries)

    def with_status(self, *statuses: PhotoStatus) -> list[PhotoEntry]:
        return [e for e in self.entries.values() if e.status in statuses]

    def counts(self) -> dict[PhotoStatus, int]:
        counts = dict.fromkeys(PhotoStatus, 0)
        for entry in self.entries.values():
            counts[entry.status] += 1
        return counts


class Expanded(NamedTuple):
    photos: list[Path]  # as reached (a linked folder's photos keep the linked name)
    skipped: int
    reals: list[str]  # each photo's real path: one file reached by two names is listed once
    reasons: list[str]  # why dropped entries that are not files could not be used ("a named pipe...")


def expand_paths(paths: Sequence[Path], recursive: bool = True) -> Expanded:
    """Files and folders -> the image files among them, in a stable order, and how many other
    files (dropped, or met in the folders) were skipped because they are not photos. Folders are
    walked as a batch walks them (hidden files and Revive's own reports skipped). Runs off the
    GUI thread: resolving real paths costs a few system calls per photo."""
    found: list[Path] = []
    skipped = 0
    reasons: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            scan = scan_folder(path, recursive)
            found.extend(scan.images)
            skipped += sum(scan.other_types.values()) + len(scan.problems)
        elif path.is_file():
            if is_image_path(path):
                found.append(path)
            else:
                skipped += 1
        else:
            skipped += 1
            reasons.append(file_problem(path) or "not a file or folder")
    by_real: dict[str, Path] = {}
    for photo in found:
        by_real.setdefault(real_path(photo), photo)
    return Expanded(list(by_real.values()), skipped, list(by_real), reasons)
