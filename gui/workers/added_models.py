"""Adding a model from another project, as a background task (``BackgroundTasks.submit``).

``add_model_file`` runs on the background pool: spandrel (and torch) are imported there, the file
is read, examined and copied by ``engine.external.adding.add_model``, and one line for people comes
back. A refused file raises the engine's ``ModelFileError`` (one line: "could run code", "not a
model spandrel knows"...), which the pool hands to the caller's ``on_failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReviveError


class NameRefused(ReviveError):
    """The name or source was refused when adding (e.g. another model took the name meanwhile)."""


@dataclass(frozen=True)
class ModelAdded:
    """What the app says once a model is added: its name, task and a line for the status bar."""

    name: str
    task: str
    line: str


def add_model_file(path: Path, name: str, source: str) -> ModelAdded:
    """Add ``path`` as external model ``name`` with ``source`` on its card (seconds: torch and
    spandrel are imported and the whole file is read). ModelFileError, NameRefused or OutputError
    say why it was not added; nothing is stored then."""
    from engine.external.adding import add_model  # torch and spandrel: on this pool thread only

    try:
        added = add_model(Path(path), name, source)
    except ValueError as error:  # the engine's word for an unfit name or source
        raise NameRefused(str(error)) from None
    card = added.card
    assert card is not None
    scale = f" ×{card.scale}" if card.scale > 1 else ""
    return ModelAdded(card.name, card.task, f"Added {card.name}: {card.architecture}, {card.task}{scale}")
