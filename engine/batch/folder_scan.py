"""Finding the photos under input folders, safely: the one folder walk of Revive.

Hidden files and folders are skipped; folder symlinks are not followed (no loops); every file is
``stat``-ed before it is taken, so a file symlink loop, a dangling link, a pipe or a device named
like a photo becomes a one-line problem instead of a traceback or a hang; an unreadable sub-folder
is a problem and the walk goes on. Colorized results Revive wrote into an output folder inside the
walked folder (listed in that folder's ledger, see ``engine.batch.ledger``), or into the batch's
own output folder, are not taken for originals to colorize again.
Files of other types are counted by suffix, so a summary can say what was left out.
``list_images`` is the same walk as a sorted list, for the training folders and the dataset check.
"""

from __future__ import annotations

import logging
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.batch.ledger import LEDGER_NAME, OutputLedger
from engine.imaging import is_image_path

log = logging.getLogger(__name__)


@dataclass
class FolderScan:
    """What a walk found: photos in a stable order, and what it left out and why."""

    images: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)  # (path, one line)
    other_types: Counter = field(default_factory=Counter)  # suffix (".gif", "" for none) -> count
    revive_outputs: int = 0  # files skipped because Revive wrote them


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a photo file (None when it is a regular file): a symlink
    loop, a dangling link, a pipe, a socket or a device."""
    try:
        info = os.stat(path)
    except OSError as error:
        if os.path.islink(path):
            return "a symbolic link that loops or points nowhere"
        if isinstance(error, FileNotFoundError):
            return "no such file or folder"
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISDIR(info.st_mode):
        return "is a folder"
    if stat.S_ISFIFO(info.st_mode):
        return "a named pipe, not a photo file"
    if stat.S_ISSOCK(info.st_mode):
        return "a socket, not a photo file"
    return "a device, not a photo file"


def scan_folder(folder: Path, recursive: bool = True, skip: OutputLedger | None = None) -> FolderScan:
    """Walk ``folder`` (see the module docstring). ``skip`` is one more ledger whose files are
    Revive's own (the batch's output folder, wherever it is)."""
    scan = FolderScan()
    folder = Path(folder)
    ledgers: list[tuple[str, OutputLedger]] = []  # ledgers of the folders above the current one

    def on_error(error: OSError) -> None:
        where = Path(error.filename) if error.filename else folder
        scan.problems.append((where, f"folder cannot be read ({error.strerror or error})"))

    for root, dirs, files in os.walk(folder, onerror=on_error):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        ledgers = [(prefix, ledger) for prefix, ledger in ledgers if _inside(root, prefix)]
        # A ledger below the walked folder marks an output folder inside the inputs: its colorized
        # results are not originals. The walked folder's own ledger does not count: a folder of
        # results passed as an input on purpose (restored photos to colorize) is walked as it is.
        if LEDGER_NAME in files and os.path.abspath(root) != os.path.abspath(folder):
            ledgers.append((os.path.abspath(root), OutputLedger.load(root_path)))
        for name in sorted(files):
            path = root_path / name
            if name.startswith("."):
                continue
            if not is_image_path(path):
                if not name.startswith("revive-report"):
                    scan.other_types[path.suffix.lower()] += 1
                continue
            problem = file_problem(path)
            if problem is not None:
                scan.problems.append((path, problem))
                continue
            owned = [ledger for _, ledger in ledgers] + ([skip] if skip is not None else [])
            if any(ledger.lists(path) and ledger.owns(path, kind="colorized") for ledger in owned):
                scan.revive_outputs += 1
                continue
            scan.images.append(path)
    return scan


def _inside(path: str, prefix: str) -> bool:
    absolute = os.path.abspath(path)
    return absolute == prefix or absolute.startswith(prefix.rstrip(os.sep) + os.sep)


def walk_images(folder: Path, recursive: bool = True) -> Iterator[Path]:
    """The photos ``scan_folder`` finds under ``folder``."""
    yield from scan_folder(folder, recursive).images


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """The photos ``scan_folder`` finds under ``folder``, sorted by path; [] when it is not a
    readable folder. What the walk left out for a problem (a pipe, a link loop) is logged."""
    scan = scan_folder(folder, recursive)
    for path, problem in scan.problems:
        log.warning("skipping %s: %s", path, problem)
    return sorted(scan.images)


def describe_other_types(counts: Counter, shown: int = 4) -> str:
    """'393 files of other types (.gif 390, .txt 3)', or '' when there were none."""
    total = sum(counts.values())
    if not total:
        return ""
    parts = [f"{suffix or '(no suffix)'} {count}" for suffix, count in counts.most_common(shown)]
    if len(counts) > shown:
        parts.append("...")
    noun = "file" if total == 1 else "files"
    return f"{total} {noun} of other types ({', '.join(parts)})"
