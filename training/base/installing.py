"""Installing a run's model as a user model without ever replacing a model the run did not make.

A user model is two files in the user's model folder: ``NAME.safetensors`` and its card
``NAME.json``. A run may replace only what it installed itself (``training.install_record``: the
rule and the run folder's ``installed.json``). Anything else under that name (the user's model,
another run's, one that appeared during a long run) is refused in one line and left byte for byte
as it was. ``--force`` does not lift this: it lets a name shadow a shipped model, which loses
nothing, while replacing a user's file would lose it for good.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from engine.atomic_files import atomic_file, ensure_folder
from engine.errors import ReviveError
from engine.models.registry import user_model_path
from training.install_record import INSTALLED_FILE, foreign_files, forget, record

__all__ = ["INSTALLED_FILE", "check_name_is_free", "forget_installs", "install", "targets"]


def targets(name: str) -> tuple[Path, Path]:
    """The files a model called ``name`` is installed as: the weights and the card."""
    path = user_model_path(name)
    return path, path.with_suffix(".json")


def check_name_is_free(run_dir: Path, name: str, resumed: bool) -> None:
    """Before a run starts: ReviveError when a model called ``name`` is installed that this run
    did not install (a new run, ``resumed`` False, installed nothing yet)."""
    foreign = foreign_files(run_dir if resumed else None, targets(name))
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
    forget(run_dir)


def install(run_dir: Path, name: str, staged: Path) -> Path:
    """Install the model file ``staged`` (and its ``.json`` card) as user model ``name``; returns
    the installed path. ReviveError, with nothing replaced, when a file there is not this run's
    (it may have appeared during the run); the run folder keeps ``staged`` for a later try."""
    model, card = targets(name)
    foreign = foreign_files(run_dir, (model, card))
    if foreign:
        raise ReviveError(
            f"a model called {name!r} appeared in {foreign[0].parent} during this run and was left untouched;"
            f" the run is saved: move {' and '.join(p.name for p in foreign)} away, then run the same command"
            " with --resume to install it"
        )
    contents = [(model, staged.read_bytes()), (card, staged.with_suffix(".json").read_bytes())]
    record(run_dir, [hashlib.sha256(data).hexdigest() for _, data in contents])
    ensure_folder(model)
    for path, data in contents:
        # Only this run's own file is replaced; a new name is linked into place, which fails
        # (OutputError, the other file untouched) if something took that name meanwhile.
        with atomic_file(path, replace=os.path.lexists(path)) as handle:
            handle.write(data)
    staged.unlink(missing_ok=True)
    staged.with_suffix(".json").unlink(missing_ok=True)
    return model
