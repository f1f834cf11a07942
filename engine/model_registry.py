"""The installed models: shipped ones in ``resources/models/`` and the user's in the data folder.

A model is named by its file's stem. ``resolve_model`` accepts a name or a path; a user model shadows
a shipped one of the same name (so a user can replace the default by training their own).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError, ModelNotFound
from engine.model_file import MODEL_SUFFIX, ModelCard, read_card
from engine.paths import shipped_models_dir, user_models_dir

log = logging.getLogger(__name__)

DEFAULT_MODEL = "revive-base"


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    source: str  # "shipped" or "user"
    size_bytes: int
    card: ModelCard | None  # None when the file is damaged
    problem: str | None = None  # why the card could not be read


def _scan(folder: Path, source: str) -> list[InstalledModel]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"*{MODEL_SUFFIX}")):
        if path.name.startswith("."):
            continue
        try:
            card, problem = read_card(path), None
        except ModelFileError as error:
            card, problem = None, str(error)
        found.append(InstalledModel(path.stem, path, source, path.stat().st_size, card, problem))
    return found


def list_models() -> list[InstalledModel]:
    """Every installed model: user models first, then shipped ones not shadowed by a user model."""
    user = _scan(user_models_dir(), "user")
    names = {m.name for m in user}
    return user + [m for m in _scan(shipped_models_dir(), "shipped") if m.name not in names]


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


def resolve_model(name_or_path: str | None) -> Path:
    """The model file for a name (see ``list_models``) or a path; ModelNotFound if there is none."""
    if not name_or_path:
        name_or_path = default_model_name()
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == MODEL_SUFFIX or candidate.parent != Path("."):
        if candidate.is_file():
            return candidate
        raise ModelNotFound(f"model file {candidate} does not exist")
    for model in list_models():
        if model.name == name_or_path:
            return model.path
    names = ", ".join(m.name for m in list_models()) or "none"
    raise ModelNotFound(f"no model called {name_or_path!r} is installed (installed: {names})")


def user_model_path(name: str) -> Path:
    """Where a user model called ``name`` is installed; ValueError for a name unfit for a file."""
    if not name or any(c in name for c in '/\\:*?"<>|') or name.startswith("."):
        raise ValueError(f"model name {name!r} must be a plain file name (no slashes or leading dot)")
    return user_models_dir() / f"{name}{MODEL_SUFFIX}"
