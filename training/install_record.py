"""Which files a training run installed, so that it replaces only its own, never a user's.

Every trainer that installs a file where a user may keep one (train-base and train: a user model
``NAME.safetensors`` and its card ``NAME.json``; train-detector: any ``--out`` path) follows one
rule: a file may be replaced only when it is byte for byte one the same run installed before (a
resumed run that exports again). The run folder keeps ``installed.json``, the SHA-256 of every
file the run installed, written *before* the file is placed, so a run stopped between the two
still knows its own file. A record that cannot be read owns nothing: a run folder is
user-writable, and when in doubt nothing is replaced. Torch-free: commands check before any photo
is read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from engine.atomic_files import write_text_atomically

log = logging.getLogger(__name__)

INSTALLED_FILE = "installed.json"  # {"sha256": [hex digests of every file this run installed]}


def foreign_files(run_dir: Path | None, files: Iterable[Path]) -> list[Path]:
    """The ones of ``files`` that exist and that the run in ``run_dir`` did not install (a link,
    a folder or an unreadable file is never the run's). ``run_dir`` None owns nothing."""
    own = own_digests(run_dir) if run_dir is not None else set()
    return [Path(p) for p in files if os.path.lexists(p) and file_digest(Path(p)) not in own]


def record(run_dir: Path, digests: Iterable[str]) -> None:
    """Add ``digests`` (of files about to be installed) to the run's record."""
    known = sorted(own_digests(run_dir) | set(digests))
    write_text_atomically(Path(run_dir) / INSTALLED_FILE, json.dumps({"sha256": known}, indent=2) + "\n")


def forget(run_dir: Path) -> None:
    """A new run in the folder of an older one owns none of that run's installs."""
    (Path(run_dir) / INSTALLED_FILE).unlink(missing_ok=True)


def own_digests(run_dir: Path) -> set[str]:
    """The digests of the files this run installed (empty when the record is absent or unreadable)."""
    path = Path(run_dir) / INSTALLED_FILE
    try:
        digests = json.loads(path.read_text(encoding="utf-8"))["sha256"]
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as error:
        log.warning("%s is unreadable (%s): this run replaces no installed file", path, error)
        return set()
    if not isinstance(digests, list):
        return set()
    return {d for d in digests if isinstance(d, str) and len(d) == 64}


def file_digest(path: Path) -> str | None:
    """SHA-256 of the regular file at ``path``; None for anything else (a folder, a dangling link,
    unreadable): not a file a run installed."""
    try:
        if not os.path.isfile(path) or os.path.islink(path):
            return None
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None
