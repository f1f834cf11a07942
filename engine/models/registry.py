"""The installed models: shipped ones in ``resources/models/`` and the user's in the data folder.

A model is named by its file's stem. ``resolve_model`` accepts a name or a path; a healthy user
model shadows a shipped one of the same name (so a user can replace the default by training their
own). A damaged user model never shadows silently: resolving its name falls back to the shipped
model of that name with a warning that names the damaged file, or fails with that file's problem.
Listing never follows a loop, never blocks on a pipe and never crashes on an odd entry: each one
is listed with its problem. Torch-free (headers only).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError, ModelNotFound
from engine.models.card import MODEL_SUFFIX, ModelCard, read_card
from engine.paths import shipped_models_dir, user_models_dir

log = logging.getLogger(__name__)

DEFAULT_MODEL = "revive-base"
_NAME_FORBIDDEN = set('/\\:*?"<>|') | {chr(i) for i in range(32)}
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    source: str  # "shipped" or "user"
    size_bytes: int
    card: ModelCard | None  # None when the file is damaged
    problem: str | None = None  # why the card could not be read


@dataclass(frozen=True)
class ResolvedModel:
    """A model file chosen by name or path, with what the user should be told about the choice."""

    path: Path
    warnings: tuple[str, ...] = ()


def model_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a model (None when it can): the one rule for every place that
    makes or installs a model (train-base, train, the wizard)."""
    if not isinstance(name, str) or not name.strip():
        return "the model needs a name"
    if len(name) > MAX_NAME_LENGTH:
        return f"model name is too long (at most {MAX_NAME_LENGTH} characters)"
    if name.startswith(".") or name != name.strip():
        return f"model name {name!r} must not start with a dot or a space"
    if any(c in _NAME_FORBIDDEN for c in name):
        return f"model name {name!r} must be a plain name (no slashes, colons or other special characters)"
    return None


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _scan(folder: Path, source: str) -> list[InstalledModel]:
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(MODEL_SUFFIX))
    except OSError:  # missing, not a folder, unreadable: nothing installed there
        return []
    found = []
    for name in names:
        if name.startswith("."):
            continue
        path = folder / name
        try:
            card, problem = read_card(path), None
        except ModelFileError as error:
            card, problem = None, str(error)
        found.append(InstalledModel(path.stem, path, source, _size(path), card, problem))
    return found


def list_models() -> list[InstalledModel]:
    """Every installed model: user models first, then shipped ones not shadowed by a healthy user
    model of the same name (a damaged one is listed, and does not hide the shipped one)."""
    user = _scan(user_models_dir(), "user")
    healthy = {m.name for m in user if m.card is not None}
    return user + [m for m in _scan(shipped_models_dir(), "shipped") if m.name not in healthy]


def default_model_name() -> str:
    """The shipped default, or the first installed model when it is absent."""
    models = [m for m in list_models() if m.card is not None]
    if any(m.name == DEFAULT_MODEL for m in models):
        return DEFAULT_MODEL
    if models:
        return models[0].name
    raise ModelNotFound(
        "no colorization model is installed: train one with `main.py train-base --photos DIR --out NAME`"
    )


def resolve(name_or_path: str | None) -> ResolvedModel:
    """The model file for a name (see ``list_models``) or a path, and warnings for the user;
    ModelNotFound if there is none, ModelFileError if the only candidate is damaged."""
    if not name_or_path:
        name_or_path = DEFAULT_MODEL
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == MODEL_SUFFIX or candidate.parent != Path("."):
        if os.path.lexists(candidate):
            return ResolvedModel(candidate)
        raise ModelNotFound(f"model file {candidate} does not exist")
    models = [m for m in list_models() if m.name == name_or_path]
    healthy = [m for m in models if m.card is not None]
    damaged = [m for m in models if m.card is None]
    warnings = tuple(
        f"your model {m.name!r} at {m.path} is damaged ({m.problem}); using the shipped one instead"
        for m in damaged
        if healthy
    )
    if healthy:
        return ResolvedModel(healthy[0].path, warnings)
    if damaged:
        raise ModelFileError(damaged[0].problem or f"{damaged[0].path}: damaged model file")
    if name_or_path == DEFAULT_MODEL:
        return ResolvedModel(resolve_model(default_model_name()))
    names = ", ".join(sorted({m.name for m in list_models()})) or "none"
    raise ModelNotFound(f"no model called {name_or_path!r} is installed (installed: {names})")


def resolve_model(name_or_path: str | None) -> Path:
    """The model file for a name or a path (see ``resolve``)."""
    return resolve(name_or_path).path


def user_model_path(name: str) -> Path:
    """Where a user model called ``name`` is installed; ValueError for a name unfit for a file."""
    problem = model_name_problem(name)
    if problem:
        raise ValueError(problem)
    return user_models_dir() / f"{name}{MODEL_SUFFIX}"


def is_shipped_name(name: str) -> bool:
    """True when a shipped model has this name (installing a user model of that name shadows it)."""
    return (shipped_models_dir() / f"{name}{MODEL_SUFFIX}").is_file()
