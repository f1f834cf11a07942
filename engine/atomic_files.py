"""Writing files atomically: a hidden ``.part`` file in the target folder, fsync, then ``os.replace``.

Every file Revive writes (photos, model files, reports, training state, previews, the GUI's result
cache) goes through here, so a crash, a full disk or a cancel never leaves a half-written file
under the real name. Failures become ``OutputError`` with a message a user can act on.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from engine.errors import OutputError, first_line

log = logging.getLogger(__name__)


def describe_write_error(path: Path, error: OSError) -> str:
    """One line for people: a full disk, a permission problem, or the system's reason."""
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"{path.name}: the disk is full; free some space or choose another output folder"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path.name}: no permission to write in {path.parent}; choose another output folder"
    return f"{path.name}: cannot be written ({error.strerror or first_line(error)})"


def ensure_folder(path: Path) -> None:
    """Create ``path``'s folder (and its parents); OutputError when that is impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise OutputError(f"{path.name}: cannot create the output folder {path.parent}: a file is in the way") from e
    except OSError as e:
        raise OutputError(describe_write_error(path, e)) from e


PART_PATTERN = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{12}\.part$")
"""The name of a temporary file of ``atomic_file``: ``.NAME.<12 hex digits>.part``."""


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name[:200]}.{secrets.token_hex(6)}.part")


@contextmanager
def atomic_file(path: Path, replace: bool = True) -> Iterator[BinaryIO]:
    """A binary file object whose content becomes ``path`` only once fully written and synced.

    ``replace`` False never replaces anything at ``path``: the finished file is linked into place,
    which fails if something appeared there meanwhile (OutputError, and the other file is left
    alone). The folder must exist (see ``ensure_folder``). On any failure the temporary file is
    removed; OSError, and ValueError from encoders that reject what they cannot store, become
    OutputError.
    """
    path = Path(path)
    temp = temporary_name(path)
    try:
        # os.open with mode 0o666 lets the umask decide permissions, as for any new file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise OutputError(describe_write_error(path, e)) from e
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(temp, path)
        else:
            _place_without_replacing(temp, path)
    except FileExistsError as e:
        temp.unlink(missing_ok=True)
        raise OutputError(
            f"{path.name}: a file of that name appeared while Revive was writing; it was left untouched"
        ) from e
    except (OSError, ValueError) as e:
        temp.unlink(missing_ok=True)
        message = describe_write_error(path, e) if isinstance(e, OSError) else f"{path.name}: {first_line(e)}"
        raise OutputError(message) from e
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _place_without_replacing(temp: Path, path: Path) -> None:
    """Give ``temp`` the name ``path`` only if nothing has that name (a hard link is atomic and
    fails when the name is taken); file systems without hard links get a check, then a rename."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
            getattr(errno, "ENOSYS", -1),
        ):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from e
        os.replace(temp, path)
        return
    os.unlink(temp)


def remove_stale_parts(folder: Path, names: set[str], older_than: float) -> int:
    """Delete ``atomic_file``'s leftovers in ``folder`` for files called one of ``names`` (a batch
    killed mid-write leaves them), modified before ``older_than`` (a time.time() value). Only
    Revive's own temporary names are touched. Returns how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = PART_PATTERN.match(entry.name)
        if not match or match.group("name") not in names:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < older_than:
                os.unlink(entry.path)
                removed += 1
        except OSError as e:
            log.debug("could not remove %s: %s", entry.path, e)
    return removed


def write_bytes_atomically(path: Path, data: bytes) -> Path:
    """Create the folder if needed and replace ``path`` with ``data`` atomically."""
    path = Path(path)
    ensure_folder(path)
    with atomic_file(path) as f:
        f.write(data)
    return path


def write_text_atomically(path: Path, text: str) -> Path:
    """``write_bytes_atomically`` for UTF-8 text."""
    return write_bytes_atomically(path, text.encode("utf-8"))


def _sync_folder(folder: Path) -> None:
    """Make the rename durable where the platform allows fsync on a folder (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:  # some filesystems refuse; the file itself is already synced
        log.debug("fsync of folder %s failed: %s", folder, e)
    finally:
        os.close(fd)
