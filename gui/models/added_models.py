"""Models added from other projects (``engine.external``), as the app shows them (no Qt, no torch).

The model picker lists the added *colorization* models beside Revive's, marked "(added)"; the batch
panel offers the added upscalers and face models to finish its results with; every added model is
a row of Tools > Manage Added Models…. What the user types as a new model's name is checked here
with the engine's own rule, in the app's words.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.external import store
from engine.external.naming import name_problem

COLORIZATION = "colorization"
UPSCALING = "upscaling"
FACES = "face restoration"
ADDED_MARK = " (added)"


@dataclass(frozen=True)
class AddedModelRow:
    """One added model: what the manage dialog shows (``problem`` is set for a damaged card)."""

    name: str
    task: str
    architecture: str
    scale: int
    source: str
    problem: str = ""

    @property
    def scale_text(self) -> str:
        return f"×{self.scale}" if self.scale > 1 else "–"


@dataclass(frozen=True)
class AddedColorizer:
    """An added colorization model for the picker: its name (what loads it), label and tooltip."""

    name: str
    label: str
    tooltip: str


def added_rows() -> list[AddedModelRow]:
    """Every added model, sorted by name; a damaged one with its problem (it can still be removed)."""
    rows = []
    for model in store.list_external():
        card = model.card
        if card is None:
            rows.append(AddedModelRow(model.name, "?", "?", 1, "", model.problem or "damaged card"))
        else:
            rows.append(AddedModelRow(model.name, card.task, card.architecture, card.scale, card.source))
    return rows


def added_colorizers(revive_names: set[str]) -> list[AddedColorizer]:
    """The added colorization models the picker offers: a Revive model of the same name wins
    (``load_colorizer``'s rule), so such a name is left out."""
    found = []
    for model in store.list_external():
        card = model.card
        if card is None or card.task != COLORIZATION or model.name in revive_names:
            continue
        origin = f"\nFrom: {card.source}" if card.source else ""
        tooltip = (
            f"{card.architecture}, added from {card.original_name}.{origin}\n"
            f"It takes no colour hints (whole-photo adjustments still apply).\n{model.path}"
        )
        found.append(AddedColorizer(model.name, model.name + ADDED_MARK, tooltip))
    return found


def finishing_choices() -> tuple[list[str], list[str]]:
    """(upscalers, face models): the added models a batch can finish its results with, by name
    (``engine.external.finishing``, as ``colorize --upscale`` and ``--faces``); damaged ones left out."""
    upscalers, faces = [], []
    for model in store.list_external():
        if model.card is not None and model.card.task == UPSCALING:
            upscalers.append(model.name)
        elif model.card is not None and model.card.task == FACES:
            faces.append(model.name)
    return upscalers, faces


def app_name_problem(name: str) -> str:
    """Why ``name`` cannot name a new added model, as one line for the dialog ('' when it can)."""
    if not name.strip():
        return "Type a name for the model."
    problem = name_problem(name, advice=False)
    if problem is None:
        return ""
    return problem[:1].upper() + problem[1:] + ": choose another name."
