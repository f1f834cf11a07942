"""What a detector run wrote at its --out path, so that it replaces only its own file, never a user's.

A run may write its detector (a ``.safetensors`` file and its ``.json`` card) where something
already is only when that something is exactly what the same run wrote before (a resumed run that
exports again). The run folder keeps ``installed.json``: the destination's absolute path and the
SHA-256 of the file and of its card as written. Anything else at that path (a user's model,
another run's, a file edited since) is foreign: the caller refuses unless ``--force``.

The same rule for user models found by name is ``training.base.installing`` (train-base, train);
this one is for an arbitrary path. Torch-free: the command checks before any photo is read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path

from engine.atomic_files import write_text_atomically

log = logging.getLogger(__name__)

RECORD_FILE = "installed.json"
_NOT_A_FILE = "not a regular file"  # a digest no record holds: a link or folder is never ours


def card_path(path: Path) -> Path:
    """The ``.json`` card written beside a model file."""
    return Path(path).with_suffix(".json")


def _digest(path: Path) -> str | None:
    """SHA-256 of the regular file at ``path``; None when nothing is there."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return _NOT_A_FILE
    if not stat.S_ISREG(info.st_mode):
        return _NOT_A_FILE
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return _NOT_A_FILE
    return digest.hexdigest()


def _read_record(run_dir: Path) -> dict:
    try:
        data = json.loads((Path(run_dir) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}  # no record (or a damaged one): nothing there is known to be this run's
    return data if isinstance(data, dict) else {}


def foreign_files(destination: Path, run_dir: Path | None) -> list[Path]:
    """The files at ``destination`` and its card that the run in ``run_dir`` did not write (empty
    when the run may write there). ``run_dir`` None: a run without a folder owns nothing."""
    destination = Path(destination)
    record = _read_record(run_dir) if run_dir is not None else {}
    same_place = record.get("path") == os.path.abspath(destination)
    foreign = []
    for key, path in (("sha256", destination), ("card_sha256", card_path(destination))):
        digest = _digest(path)
        if digest is not None and not (same_place and record.get(key) == digest):
            foreign.append(path)
    return foreign


def record_install(destination: Path, run_dir: Path) -> None:
    """Remember in ``run_dir`` what the run has just written at ``destination`` (and its card)."""
    destination = Path(destination)
    record = {
        "path": os.path.abspath(destination),
        "sha256": _digest(destination),
        "card_sha256": _digest(card_path(destination)),
    }
    write_text_atomically(Path(run_dir) / RECORD_FILE, json.dumps(record, indent=2) + "\n")
    log.info("recorded the install of %s in %s", destination, run_dir)
