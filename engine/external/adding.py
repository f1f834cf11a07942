"""Adding an external model: examine the file, write its card, copy it into the external folder.

``add_model`` is what ``main.py models --add`` and the app's "Add Model..." call. The file is read
once; those bytes are examined (``loading``), hashed and stored, so what Revive runs later is
exactly what it checked. Nothing is ever written over an existing file.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import ModelFileError
from engine.external import loading, store
from engine.external.card import ExternalCard
from engine.external.naming import MAX_SOURCE_LENGTH, default_name, name_problem  # torch-free: the app uses them

log = logging.getLogger(__name__)


def add_model(path: Path, name: str | None = None, source: str = "") -> store.ExternalModel:
    """Examine ``path`` with spandrel and install it as external model ``name`` (default: the file's
    stem), with ``source`` (where it came from, as the user says) on its card.

    ValueError for an unfit name or source; ModelFileError for a file Revive will not take (unsafe
    pickle, foreign state dict, damaged); OutputError when it cannot be written.
    """
    path = Path(path).expanduser()
    name = default_name(path) if name is None else name
    if not isinstance(source, str) or len(source) > MAX_SOURCE_LENGTH:
        raise ValueError(f"--source must be a text of at most {MAX_SOURCE_LENGTH} characters")
    problem = name_problem(name)
    if problem:
        raise ValueError(problem)
    data = store.read_model_bytes(path)
    descriptor = loading.examine(data, path.name)
    try:
        card = ExternalCard(
            name=name,
            file=name + path.suffix.lower(),
            original_name=path.name,
            source=source.strip(),
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            added=datetime.now(UTC).isoformat(timespec="seconds"),
            **loading.facts(descriptor),
        )
    except ValueError as error:  # spandrel reported something a card cannot hold (e.g. a 32x scale)
        raise ModelFileError(f"{path.name}: {error}") from None
    del descriptor
    installed = store.install(card, data)
    log.info("added external model %s (%s, %s) from %s", name, card.architecture, card.task, path)
    return installed
