"""Writing files atomically: a hidden ``.part`` file in the target folder, fsync, then ``os.replace``.

Every file Revive writes (photos, model files, reports, training state, previews, the GUI's result
cache) goes through here, so a crash, a full disk or a cancel never leaves a half-written file
under the real name. Failures become ``OutputError`` with a message a user can act on.
"""

from __future__ import annotations

import errno
import logging
import os
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
        raise OutputError(f"{path.name}: cannot create the output folder {path.parent}: "
                          "a file is in the way") from e
    except OSError as e:
        raise OutputError(describe_write_error(path, e)) from e


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file object whose content replaces ``path`` only once fully written and synced.

    The folder must exist (see ``ensure_folder``). On any failure the temporary file is removed;
    OSError, and ValueError from encoders that reject what they cannot store, become OutputError.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name[:200]}.{secrets.token_hex(6)}.part")
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
        os.replace(temp, path)
    except (OSError, ValueError) as e:
        temp.unlink(missing_ok=True)
        message = describe_write_error(path, e) if isinstance(e, OSError) else f"{path.name}: {first_line(e)}"
        raise OutputError(message) from e
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


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
