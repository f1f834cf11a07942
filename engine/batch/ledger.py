"""The ledger of files Revive wrote into an output folder: how Revive proves a file is its own.

Revive may replace, skip or clean up only files it can prove it wrote. Every photo (and report) a
batch writes is recorded in ``DIR/.revive-outputs.jsonl`` right after its atomic rename: one JSON
line with the path relative to DIR, the size, the modification time, the SHA-256 of the whole
file and the source photo it was made from. A file at an output path that is not in the ledger,
or whose size, or time and hash, no longer match (somebody replaced or edited it), is not
Revive's: it is an original and is never replaced. The hash is of every byte, not a sample: an
edit that keeps the size (a retouched patch in the middle of an uncompressed TIFF or PNG) must
not pass for Revive's file. It is read only when the time differs (a copied folder).
Ledgers of earlier versions hashed only the first and last 64 KiB (``sha256_ends``); such an
entry still proves a file whose size and time are unchanged, and nothing more.

The ledger is append-only (a line per write, fsynced), so a batch killed at any moment leaves a
ledger that lists exactly the complete files; a torn last line is ignored. It is read defensively:
anything malformed is skipped (the worst case is that Revive takes its own file for a stranger's
and writes beside it under a ``-2`` name, never that it replaces a stranger's file).

Reports of earlier versions (``revive-report.json`` without a ledger) are honoured for their
``done`` entries, whose files must also still decode.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.atomic_files import write_text_atomically

log = logging.getLogger(__name__)

LEDGER_NAME = ".revive-outputs.jsonl"
LEGACY_REPORT_NAME = "revive-report.json"
_MAX_LEDGER_BYTES = 256 * 1024 * 1024
_MAX_LINE_CHARS = 16 * 1024
_HASH_CHUNK = 1024 * 1024
KINDS = ("colorized", "restored", "report")


@dataclass(frozen=True)
class _Entry:
    size: int | None  # None: listed by an old report (no size recorded)
    mtime_ns: int | None
    fingerprint: str | None  # SHA-256 of the whole file; None: an older entry, proven by size and time only
    source: str | None  # the real path of the photo it was made from, or None (a report)
    kind: str = "colorized"  # what the file is: "colorized", "restored" (a gray repair), "report"


@dataclass(frozen=True)
class FileStamp:
    """What the ledger records of one written file: its size, modification time and SHA-256.
    Measured by whoever wrote the file, right after the rename, so a ledger kept on another machine
    (the driver of a cluster batch, ``engine.cluster``) records exactly the bytes that were written."""

    size: int
    mtime_ns: int
    fingerprint: str


def stamp_file(path: Path) -> FileStamp:
    """The ``FileStamp`` of the file at ``path`` now (OSError when it cannot be read)."""
    info = os.stat(path)
    return FileStamp(info.st_size, info.st_mtime_ns, fingerprint(path))


def fingerprint(path: Path) -> str:
    """SHA-256 of every byte of a file (hex). Right after a write the bytes are in the page cache,
    so this costs a few milliseconds for a 12-MP JPEG."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def real_path(path: Path) -> str:
    """``os.path.realpath`` as a string, with the case folded where the platform folds it; never
    raises (a symlink loop stays as given)."""
    return os.path.normcase(os.path.realpath(path))


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _str_or_none(value: object, limit: int = 8192) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


class OutputLedger:
    """The files Revive wrote under ``folder``. ``record`` may be called from a writer thread."""

    def __init__(self, folder: Path, entries: dict[str, _Entry] | None = None, lines: int = 0) -> None:
        self.folder = Path(folder)
        self._entries: dict[str, _Entry] = dict(entries or {})
        self._lines = lines
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------ reading
    @classmethod
    def load(cls, folder: Path) -> "OutputLedger":
        """The ledger of ``folder`` (empty when there is none or it cannot be read)."""
        folder = Path(folder)
        entries: dict[str, _Entry] = {}
        lines = 0
        path = folder / LEDGER_NAME
        text = _read_regular_text(path, _MAX_LEDGER_BYTES)
        if text:
            for line in text.splitlines():
                lines += 1
                parsed = _parse_line(line)
                if parsed is not None:
                    relative, entry = parsed
                    entries[relative] = entry
        legacy = _read_regular_text(folder / LEGACY_REPORT_NAME, _MAX_LEDGER_BYTES)
        if legacy and not text:
            found = _legacy_entries(folder, legacy)
            if found is not None:
                entries.update(found)
                try:  # the report itself is Revive's (it parsed as one): it may be replaced
                    info = os.stat(folder / LEGACY_REPORT_NAME)
                    entries[LEGACY_REPORT_NAME] = _Entry(info.st_size, info.st_mtime_ns, None, None, "report")
                except OSError:
                    pass
        return cls(folder, entries, lines)

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the folder, as a POSIX string, or None when it is not inside it."""
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(self.folder)).as_posix()
        except ValueError:
            return None

    def lists(self, path: Path) -> bool:
        """True when the ledger names ``path`` (cheap: no file system access)."""
        relative = self.relative(path)
        return relative is not None and relative in self._entries

    def owns(self, path: Path, source: Path | None = None, kind: str | None = None) -> bool:
        """True when ``path`` is a file Revive wrote and nobody changed since; with ``source``,
        also made from that photo; with ``kind``, also of that kind (a restored gray photo is not
        a finished colorized one). False for anything in doubt."""
        relative = self.relative(path)
        entry = self._entries.get(relative) if relative is not None else None
        if entry is None:
            return False
        if source is not None and entry.source is not None and entry.source != real_path(source):
            return False
        if kind is not None and entry.kind != kind:
            return False
        try:
            info = os.lstat(path)
        except OSError:
            return False
        if not stat.S_ISREG(info.st_mode):
            return False
        if entry.size is None:  # an old report's entry: the file must at least be a whole image
            return _decodes(path)
        if info.st_size != entry.size:
            return False
        if info.st_mtime_ns == entry.mtime_ns:
            return True
        if entry.fingerprint is None:  # an older entry's partial hash cannot tell an edit from a copy
            return False
        try:  # copied with new times (cp -r, a sync tool): the bytes decide
            return fingerprint(path) == entry.fingerprint
        except OSError:
            return False

    # ------------------------------------------------------------------------------------ writing
    def record(
        self, path: Path, source: Path | None = None, stamp: FileStamp | None = None, kind: str = "colorized"
    ) -> None:
        """Note that Revive has just written ``path`` (complete, renamed into place). Durable
        before it returns: a batch killed right after still knows the file is its own. ``stamp``:
        the file as its writer measured it (``stamp_file``); None measures it here."""
        relative = self.relative(path)
        if relative is None:
            raise ValueError(f"{path} is not inside {self.folder}")
        stamp = stamp if stamp is not None else stamp_file(path)
        entry = _Entry(
            stamp.size, stamp.mtime_ns, stamp.fingerprint, real_path(source) if source is not None else None, kind
        )
        line = _line(relative, entry)
        with self._lock:
            self._entries[relative] = entry
            self._lines += 1
            fd = os.open(self.folder / LEDGER_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
            try:
                os.write(fd, (line + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def compact(self) -> None:
        """Rewrite the ledger with one line per file still present (atomically), when it has
        grown to more than twice that: reruns append a line per file each time."""
        with self._lock:
            alive = {
                relative: entry
                for relative, entry in self._entries.items()
                if entry.size is not None and (self.folder / relative).is_file()
            }
            if self._lines <= 2 * max(1, len(alive)) and len(alive) == len(self._entries):
                return
            lines = [_line(relative, e) for relative, e in sorted(alive.items())]
            write_text_atomically(self.folder / LEDGER_NAME, "".join(line + "\n" for line in lines))
            self._entries, self._lines = alive, len(lines)


def _line(relative: str, entry: _Entry) -> str:
    return json.dumps(
        {
            "path": relative,
            "size": entry.size,
            "mtime_ns": entry.mtime_ns,
            "sha256": entry.fingerprint,
            "source": entry.source,
            "kind": entry.kind,
        },
        ensure_ascii=True,
    )


def _read_regular_text(path: Path, limit: int) -> str:
    """A regular file's text ('' when absent, not a regular file, too large or unreadable): a
    pipe or a symlink loop named like a ledger must not hang or crash planning."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return ""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            log.warning("%s: not a regular file of a sensible size; ignored", path)
            return ""
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError as error:
        log.warning("%s: cannot be read (%s); ignored", path, error)
        return ""
    finally:
        os.close(fd)


def _parse_line(line: str) -> tuple[str, _Entry] | None:
    if not line.strip() or len(line) > _MAX_LINE_CHARS:
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None  # a torn last line after a kill, or damage: that file is simply not proven ours
    if not isinstance(data, dict):
        return None
    relative = _str_or_none(data.get("path"))
    size, mtime = _int_or_none(data.get("size")), _int_or_none(data.get("mtime_ns"))
    digest = _str_or_none(data.get("sha256"), 64)
    if relative is None or size is None or mtime is None:
        return None
    if digest is None and _str_or_none(data.get("sha256_ends"), 64) is None:
        return None  # neither this version's hash nor an earlier version's
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts:
        return None  # a ledger speaks only for its own folder
    kind = data.get("kind", "colorized")
    if kind not in KINDS:
        return None
    return relative, _Entry(size, mtime, digest, _str_or_none(data.get("source")), kind)


def _legacy_entries(folder: Path, text: str) -> dict[str, _Entry] | None:
    """``done`` outputs of an old-style report inside ``folder`` (None: not a Revive report)."""
    try:
        report = json.loads(text)
    except ValueError:
        return None
    files = report.get("files") if isinstance(report, dict) else None
    if not isinstance(files, list) or "model" not in report:
        return None
    entries = {}
    root = os.path.abspath(folder)
    for item in files:
        if not isinstance(item, dict) or item.get("status") != "done":
            continue
        output, source = _str_or_none(item.get("output")), _str_or_none(item.get("source"))
        if output is None:
            continue
        try:
            relative = Path(os.path.abspath(output)).relative_to(root).as_posix()
        except ValueError:
            continue
        entries[relative] = _Entry(None, None, None, real_path(Path(source)) if source else None)
    return entries


def _decodes(path: Path) -> bool:
    from engine.errors import UnsupportedImage
    from engine.imaging import read_preview_rgb

    try:
        read_preview_rgb(path, 64)
    except (UnsupportedImage, ValueError, OSError):
        return False
    return True
