"""Wizard page 1: the installed model to start from (G of the CycleGAN is initialised from it).

The shipped model (revive-base) is preselected, whatever model the app uses at the moment: a
fine-tuned model fine-tuned again drifts further from photos at each round. Earlier training runs
are listed (and resumed or deleted) from here (Manage Runs).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWizardPage

from engine.errors import ReviveError
from engine.models.registry import DEFAULT_MODEL, InstalledModel, default_model_name, list_models

_NAME_ROLE = Qt.ItemDataRole.UserRole


def can_fine_tune(model: InstalledModel) -> str | None:
    """None when ``model`` can be G; else why not (for a tooltip)."""
    if model.card is None:
        return f"damaged model file: {model.problem}"
    if model.card.color_space != "lab":
        return "not an L* -> a*b* colorizer, so it cannot be fine-tuned here"
    return None


class BaseModelPage(QWizardPage):
    manage_runs_requested = Signal()

    def __init__(self, current_model: str = "", parent=None) -> None:
        """``current_model``: the app's model, chosen only when the shipped one is not offered."""
        super().__init__(parent)
        self.setTitle("Base model")
        self.setSubTitle("Training starts from a model you have and teaches it the look of your own photos.")
        self._current_model = current_model
        self._listed: dict[str, InstalledModel] = {}
        self.models = QListWidget()
        # No alternating rows: under the dark style sheet Fusion's light alternate base made the
        # unselected rows light gray text on white.
        self.models.setAlternatingRowColors(False)
        self.models.setObjectName("BaseModels")
        self.models.setSpacing(2)
        self.manage_runs_button = QPushButton("Manage Runs…")
        self.manage_runs_button.setToolTip("Resume or delete earlier training runs (each keeps about 100 MB)")
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setMinimumHeight(60)
        layout = QVBoxLayout(self)
        layout.addWidget(self.models, 1)
        layout.addWidget(self.details)
        runs_row = QHBoxLayout()
        runs_row.addStretch(1)
        runs_row.addWidget(self.manage_runs_button)
        layout.addLayout(runs_row)
        self.models.currentItemChanged.connect(self._on_models_current_item_changed)
        self.manage_runs_button.clicked.connect(self.manage_runs_requested)
        self.refresh()

    def refresh(self) -> None:
        """List the installed models again; keep the choice, else pick the shipped model (then the
        app's model, then the default)."""
        chosen = self.chosen_model()
        self.models.clear()
        self._listed = {m.name: m for m in list_models()}
        for model in self._listed.values():
            problem = can_fine_tune(model)
            description = model.card.description if model.card else ""
            item = QListWidgetItem(f"{model.name}  ({model.source})" + (f"\n{description}" if description else ""))
            item.setData(_NAME_ROLE, model.name)
            item.setToolTip(problem or str(model.path))
            if problem:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsSelectable)
            self.models.addItem(item)
        if (
            not (chosen and self._select(chosen))
            and not self._select(DEFAULT_MODEL)
            and not (self._current_model and self._select(self._current_model))
        ):
            try:
                self._select(default_model_name())
            except ReviveError:
                pass
        if self.models.currentItem() is None:
            self.details.setText("No model that can be fine-tuned is installed: train a base model first.")
        self.completeChanged.emit()

    def _select(self, name: str) -> bool:
        for row in range(self.models.count()):
            item = self.models.item(row)
            if item.data(_NAME_ROLE) == name and item.flags() & Qt.ItemFlag.ItemIsEnabled:
                self.models.setCurrentItem(item)
                return True
        return False

    def chosen_model(self) -> str:
        item = self.models.currentItem()
        return item.data(_NAME_ROLE) if item is not None else ""

    def choose(self, name: str) -> bool:
        """Select model ``name`` (for tests and callers); False when it is not offered."""
        return self._select(name)

    def isComplete(self) -> bool:
        return bool(self.chosen_model())

    def _on_models_current_item_changed(self, item: QListWidgetItem | None, _previous) -> None:
        model = self._listed.get(item.data(_NAME_ROLE)) if item is not None else None
        if model is None or model.card is None:
            self.details.setText("")
        else:
            card = model.card
            parts = [f"<b>{html.escape(card.name)}</b>: {html.escape(card.description or 'no description')}"]
            if card.trained_on:
                parts.append(f"Trained on {html.escape(card.trained_on)}")
            if card.base_model:
                parts.append(f"Fine-tuned from {html.escape(card.base_model)}")
            self.details.setText("<br>".join(parts))
        self.completeChanged.emit()
