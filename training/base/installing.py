"""Installing a run's model as a user model without ever replacing a model the run did not make.

A user model is two files in the user's model folder: ``NAME.safetensors`` and its card
``NAME.json``. A run may replace only what it installed itself (a resumed run that exports again):
its folder keeps the SHA-256 of every file it installed (``installed.json``), written *before* the
file is placed, so a run stopped between the two still knows its own file. Anything else under
that name (the user's model, another run's, one that appeared during a long run) is refused in one
line and left byte for byte as it was. ``--force`` does not lift this: it lets a name shadow a
shipped model, which loses nothing, while replacing a user's file would lose it for good.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from engine.atomic_files import atomic_file, ensure_folder, write_text_atomically
from engine.errors import ReviveError
from engine.models.registry import user_model_path

log = logging.getLogger(__name__)

INSTALLED_FILE = "installed.json"  # {"sha256": [hex digests of every file this run installed]}


def targets(name: str) -> tuple[Path, Path]:
    """The files a model called ``name`` is installed as: the weights and the card."""
    path = user_model_path(name)
    return path, path.with_suffix(".json")


def check_name_is_free(run_dir: Path, name: str, resumed: bool) -> None:
    """Before a run starts: ReviveError when a model called ``name`` is installed that this run
    did not install (a new run, ``resumed`` False, installed nothing yet)."""
    foreign = _foreign_files(run_dir, name) if resumed else [p for p in targets(name) if os.path.lexists(p)]
    if not foreign:
        return
    names = " and ".join(p.name for p in targets(name))
    # A resumed run cannot change its name (the run folder is found by it): only moving the file helps.
    fix = f"move {names} out of" if resumed else f"choose another --out name, or delete {names} in"
    raise ReviveError(
        f"a model called {name!r} is already installed ({foreign[0]}) and this run did not make it;"
        f" {fix} {foreign[0].parent} to replace it"
    )


def forget_installs(run_dir: Path) -> None:
    """A new run in the folder of an older one owns none of that run's installs."""
    (run_dir / INSTALLED_FILE).unlink(missing_ok=True)


def install(run_dir: Path, name: str, staged: Path) -> Path:
    """Install the model file ``staged`` (and its ``.json`` card) as user model ``name``; returns
    the installed path. ReviveError, with nothing replaced, when a file there is not this run's
    (it may have appeared during the run); the run folder keeps ``staged`` for a later try."""
    model, card = targets(name)
    foreign = _foreign_files(run_dir, name)
    if foreign:
        raise ReviveError(
            f"a model called {name!r} appeared in {foreign[0].parent} during this run and was left untouched;"
            f" the run is saved: move {' and '.join(p.name for p in foreign)} away, then run the same command"
            " with --resume to install it"
        )
    contents = [(model, staged.read_bytes()), (card, staged.with_suffix(".json").read_bytes())]
    _record(run_dir, [hashlib.sha256(data).hexdigest() for _, data in contents])
    ensure_folder(model)
    for path, data in contents:
        # Only this run's own file is replaced; a new name is linked into place, which fails
        # (OutputError, the other file untouched) if something took that name meanwhile.
        with atomic_file(path, replace=os.path.lexists(path)) as handle:
            handle.write(data)
    staged.unlink(missing_ok=True)
    staged.with_suffix(".json").unlink(missing_ok=True)
    return model


def _foreign_files(run_dir: Path, name: str) -> list[Path]:
    """The files under ``name`` that this run did not install."""
    own = _own_digests(run_dir)
    return [p for p in targets(name) if os.path.lexists(p) and _digest(p) not in own]


def _own_digests(run_dir: Path) -> set[str]:
    """The digests of the files this run installed; an unreadable record owns nothing (a run
    folder is user-writable: when in doubt, nothing is replaced)."""
    path = run_dir / INSTALLED_FILE
    try:
        digests = json.loads(path.read_text(encoding="utf-8"))["sha256"]
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        log.warning("%s is unreadable (%s): this run replaces no installed model", path, error)
        return set()
    if not isinstance(digests, list):
        return set()
    return {d for d in digests if isinstance(d, str) and len(d) == 64}


def _record(run_dir: Path, digests: list[str]) -> None:
    known = sorted(_own_digests(run_dir) | set(digests))
    write_text_atomically(run_dir / INSTALLED_FILE, json.dumps({"sha256": known}, indent=2) + "\n")


def _digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:  # a folder, a dangling link, unreadable: not a file this run wrote
        return None
